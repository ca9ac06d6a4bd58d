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


def test_running_partitions_count_before_they_finish(caplog):
    """Issue 20: a table whose partitions all run showed 0 rows until one ended."""
    import logging
    import time

    from jobs.load.live_rows import LiveRows, RowsReporter
    from jobs.progress import Progress

    class Finished:
        def finished(self):
            return {0: {"partition": 0, "rows": 1000}}

    live = LiveRows("127.0.0.1")
    try:
        for partition, rows in ((1, 256), (2, 128), (0, 999)):  # 0 finished since: Spark's count wins
            reporter = RowsReporter(live.address, "db_t", partition, interval=0)
            for count in range(1, rows + 1):
                reporter.rows(count)
            reporter.close()
        expected = {1: 256, 2: 128, 0: 896}  # sent at every 128th row; each partition's last one wins
        deadline = time.monotonic() + 10
        while live.rows("db_t") != expected and time.monotonic() < deadline:
            time.sleep(0.01)  # the datagrams arrive in their own time: wait for the last of each
        assert live.rows("db_t") == expected
        progress = Progress(60, live)
        progress.track("db.t", 4000, Finished(), 4, "db_t")
        with caplog.at_level(logging.INFO, logger="mysql2dynamodb"):
            progress._log_tables()
        assert "progress db.t: 1384/4000 rows" in caplog.text and "1/4 partitions" in caplog.text
    finally:
        live.stop()


def test_a_verification_counts_the_rows_of_fast_partitions_too():
    """A partition compared faster than a report interval still counts whole when it ends: the
    verification's progress has no finished partitions of its own."""
    import time

    from jobs.load.live_rows import CountedRows, LiveRows

    live = LiveRows("127.0.0.1")
    try:
        counted = CountedRows(live.address, "db_t#verify", interval=60)
        for partition, rows in ((0, 1000), (1, 7)):
            assert list(counted(partition, iter(range(rows)))) == list(range(rows))  # rows passed through
        deadline = time.monotonic() + 10
        while live.rows("db_t#verify") != {0: 1000, 1: 7} and time.monotonic() < deadline:
            time.sleep(0.01)
        assert live.rows("db_t#verify") == {0: 1000, 1: 7}
    finally:
        live.stop()
