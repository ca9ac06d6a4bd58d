from jobs.progress import format_eta, progress_line


def test_progress_line_shows_rows_rate_and_eta():
    line = progress_line("shop.orders", 2500, 10000, 10.0)
    assert line == "progress shop.orders: 2500/10000 rows (25%), 250 items/s, ETA 0m30s"


def test_progress_line_counts_partitions():
    line = progress_line("d.t", 400, 1000, 4.0, partitions_done=2, partitions=5)
    assert line == "progress d.t: 400/1000 rows (40%), 2/5 partitions, 100 items/s, ETA 0m06s"


def test_progress_line_before_anything_is_done_and_past_the_estimate():
    assert progress_line("d.t", 0, 100, 5.0).endswith("0 items/s, ETA ?")
    assert "120/120 rows (100%)" in progress_line("d.t", 120, 100, 2.0)


def test_eta_formats():
    assert format_eta(59) == "0m59s" and format_eta(3725) == "1h02m" and format_eta(float("inf")) == "?"


def test_every_calls_its_action_until_stopped():
    import threading

    from jobs.progress import Every

    calls = threading.Semaphore(0)
    ticker = Every(0.001, calls.release, "test").start()
    assert all(calls.acquire(timeout=5) for _ in range(3))  # counts, not a clock window
    ticker.stop(wait=True)
    assert not ticker._thread.is_alive()
