"""BatchWriter against a stubbed client: the only place faults can be injected exactly."""

import random

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from jobs.dynamodb.writer import BatchWriter, RateLimiter
from jobs.errors import WriteFailed


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


class StubClient:
    """Stores items like DynamoDB; can throttle or leave items unprocessed on request."""

    def __init__(self, script=(), clock=None):
        self.script = list(script)  # per call: "ok", "throttle", "unprocessed:N", "fatal", "conn"
        self.table = {}
        self.calls = []
        self.clock = clock
        self.call_times = []

    def batch_write_item(self, RequestItems):
        ((name, requests),) = RequestItems.items()
        assert len(requests) <= 25
        keys = [r["PutRequest"]["Item"]["id"]["S"] for r in requests]
        assert len(keys) == len(set(keys)), "duplicate keys in one batch"
        self.calls.append(len(requests))
        self.call_times.append(self.clock() if self.clock else None)
        action = self.script.pop(0) if self.script else "ok"
        if action == "throttle":
            raise ClientError(
                {
                    "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "BatchWriteItem",
            )
        if action == "fatal":
            raise ClientError(
                {
                    "Error": {"Code": "ValidationException", "Message": "bad item"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "BatchWriteItem",
            )
        if action == "conn":
            raise EndpointConnectionError(endpoint_url="http://x")
        left = int(action.split(":")[1]) if action.startswith("unprocessed") else 0
        done, rest = requests[: len(requests) - left], requests[len(requests) - left :]
        for request in done:
            item = request["PutRequest"]["Item"]
            self.table[item["id"]["S"]] = item
        # Like botocore: fresh dicts, not the caller's objects.
        return {
            "UnprocessedItems": {name: [{"PutRequest": {"Item": dict(r["PutRequest"]["Item"])}} for r in rest]}
            if rest
            else {}
        }


def make_writer(client, clock, limit=60.0, rate=1e9):
    return BatchWriter(
        client,
        "t",
        ["id"],
        RateLimiter(rate, clock=clock, sleep=clock.sleep),
        max_retry_seconds=limit,
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(0),
    )


def item(i, v="x"):
    return {"id": {"S": str(i)}, "v": {"S": v}}


def write(writer, items):
    with writer:
        for it in items:
            writer.put(it, 10, 1)


def test_batches_of_25_and_a_final_partial_batch():
    client, clock = StubClient(), FakeClock()
    writer = make_writer(client, clock)
    write(writer, [item(i) for i in range(60)])
    assert client.calls == [25, 25, 10]
    assert writer.written == 60 and len(client.table) == 60


def test_duplicate_keys_in_a_batch_collapse_last_wins():
    client, clock = StubClient(), FakeClock()
    writer = make_writer(client, clock)
    write(writer, [item(1, "old"), item(2), item(1, "new")])
    assert client.table["1"]["v"]["S"] == "new"
    assert writer.collapsed_duplicates == 1 and writer.written == 2


def test_unprocessed_items_are_retried_with_backoff_until_written():
    clock = FakeClock()
    client = StubClient(["unprocessed:10", "unprocessed:3", "ok"], clock=clock)
    writer = make_writer(client, clock)
    write(writer, [item(i) for i in range(25)])
    assert client.calls == [25, 10, 3]
    assert len(client.table) == 25 and writer.written == 25
    assert writer.retried_items == 13
    # Each unprocessed item draws its own full-jitter delay (base 0.05 s, doubling per attempt);
    # with only retries left, the writer waits until all of them are due or the budget's pace
    # (at least the base delay) has passed, whichever comes first.
    draws = random.Random(0)
    first_wait = min(0.05, max(draws.uniform(0, 0.05) for _ in range(10)))
    second_wait = min(0.05, max(draws.uniform(0, 0.10) for _ in range(3)))
    gaps = [b - a for a, b in zip(client.call_times, client.call_times[1:])]
    assert gaps == [pytest.approx(first_wait, abs=1e-6), pytest.approx(second_wait, abs=1e-6)]
    assert second_wait == 0.05  # the second round's own backoffs would have waited longer


def test_unprocessed_items_wait_but_new_items_keep_flowing():
    client, clock = StubClient(["unprocessed:5"]), FakeClock()
    writer = make_writer(client, clock)
    write(writer, [item(i) for i in range(100)])
    assert len(client.table) == 100 and writer.written == 100
    assert client.calls[:4] == [25, 25, 25, 25]  # held-back items did not stall the stream
    assert sum(client.calls) == 105


def test_an_item_that_never_goes_through_fails_the_task_after_the_limit():
    client, clock = StubClient(["unprocessed:1"] * 10000), FakeClock()
    writer = make_writer(client, clock, limit=30)
    with pytest.raises(WriteFailed, match=r"DynamoDB table t: gave up after \d+s.*item still unprocessed"):
        write(writer, [item(1)])
    assert 30 < clock.now < 40


def test_a_newer_value_replaces_a_held_back_one():
    client, clock = StubClient(["unprocessed:1"]), FakeClock()
    writer = make_writer(client, clock)
    with writer:
        for i in range(24):
            writer.put(item(i), 10, 1)
        writer.put(item(99, "old"), 10, 1)  # the 25th: sent, and held back
        writer.put(item(99, "new"), 10, 1)
    assert client.table["99"]["v"]["S"] == "new"


def test_throttling_and_connection_errors_are_retried_and_slow_the_rate():
    client, clock = StubClient(["throttle", "conn", "throttle", "ok"]), FakeClock()
    writer = make_writer(client, clock, rate=1000)
    write(writer, [item(i) for i in range(5)])
    assert len(client.table) == 5
    assert writer.throttle_events == 3
    assert writer.limiter.rate < 1000


def test_backoff_delays_grow_exponentially_with_full_jitter():
    client, clock = StubClient(["throttle"] * 8), FakeClock()
    writer = make_writer(client, clock)
    write(writer, [item(1)])
    caps = [min(5.0, 0.05 * 2**a) for a in range(8)]
    assert all(0 <= s <= cap for s, cap in zip(clock.slept, caps))
    assert max(clock.slept[4:]) > max(clock.slept[:2])


def test_gives_up_after_the_time_limit_naming_table_and_error():
    client, clock = StubClient(["throttle"] * 1000), FakeClock()
    writer = make_writer(client, clock, limit=10)
    with pytest.raises(WriteFailed, match=r"DynamoDB table t: gave up after \d+s.*ProvisionedThroughputExceeded"):
        write(writer, [item(1)])


def test_non_retryable_errors_fail_at_once():
    client, clock = StubClient(["fatal"]), FakeClock()
    with pytest.raises(WriteFailed, match="ValidationException: bad item"):
        write(make_writer(client, clock), [item(1)])
    assert len(client.calls) == 1 and clock.slept == [1e-09]  # no backoff, only the budget's wait


def test_rate_limiter_holds_the_budget():
    clock = FakeClock()
    limiter = RateLimiter(100, clock=clock, sleep=clock.sleep)
    for _ in range(50):
        limiter.acquire(10)  # 500 units at 100/s
    assert 4.9 <= clock.now <= 5.0  # never ahead of the budget: the bucket starts empty


@pytest.mark.parametrize("idle", [0.5, 5.0, 300.0])
def test_after_an_idle_gap_the_limiter_bursts_a_fraction_of_a_second_not_a_whole_one(idle):
    """Workers idle between partitions (the next JDBC read) and then start together: a second's
    budget saved by each would reach DynamoDB at once, twice the rate within one second."""
    clock = FakeClock()
    limiter = RateLimiter(100, clock=clock, sleep=clock.sleep)
    clock.now += idle
    start, sent = clock.now, 0
    while clock.now == start:
        limiter.acquire(5)
        sent += 5
    assert sent - 5 <= 100 * RateLimiter.BURST_SECONDS  # what went out before the first wait
    for _ in range(40):
        limiter.acquire(5)
        sent += 5
    assert sent <= 100 * (clock.now - start) + 100 * RateLimiter.BURST_SECONDS + 1e-9


def test_unprocessed_items_do_not_spend_the_budget():
    clock = FakeClock()
    limiter = RateLimiter(100, clock=clock, sleep=clock.sleep)
    limiter.acquire(50)
    limiter.refund(30)
    limiter.acquire(30)
    assert clock.now == pytest.approx(0.5)


def test_rate_limiter_aimd():
    limiter = RateLimiter(100, clock=FakeClock(), sleep=lambda s: None)
    limiter.on_throttle()
    limiter.on_throttle()
    assert limiter.rate == 25
    for _ in range(100):
        limiter.on_success()
    assert limiter.rate == 100


def test_the_row_loop_counts_rows_merged_into_one_key():
    from jobs.load.spec import Endpoint, LoadSpec
    from jobs.load.write_task import RejectsFile, write_rows
    from mapping.items import ItemLayout

    class Recorder:
        def __init__(self):
            self.items = []

        def put(self, item, size, units):
            self.items.append(item)

    layout = ItemLayout(("k", "v"), "k", None, ("k",))
    spec = LoadSpec("d", "t", "d_t", Endpoint(None, "us-east-1"), layout, 10.0, 5.0, "", count_merged=True)
    rows = [("1", "a"), ("1", "b"), ("1", "c"), ("2", "d"), (None, "e"), ("3", "f")]  # sorted by key
    writer, rejects = Recorder(), RejectsFile()
    stats = write_rows(rows, spec, writer, rejects)
    rejects.close()
    assert (stats["rows"], stats["merged_rows"], stats["rejected"], len(writer.items)) == (6, 2, 1, 5)


class DeletingStub(StubClient):
    """Also takes DeleteRequests; the first call leaves its last request unprocessed."""

    def batch_write_item(self, RequestItems):
        ((name, requests),) = RequestItems.items()
        self.calls.append([next(iter(r)) for r in requests])
        first = len(self.calls) == 1
        done, rest = (requests[:-1], requests[-1:]) if first else (requests, [])
        for request in done:
            if "PutRequest" in request:
                item = request["PutRequest"]["Item"]
                self.table[item["id"]["S"]] = item
            else:
                self.table.pop(request["DeleteRequest"]["Key"]["id"]["S"], None)
        return {"UnprocessedItems": {name: rest}} if rest else {}


def test_deletes_share_batches_with_puts_and_the_last_request_for_a_key_wins():
    client, clock = DeletingStub(), FakeClock()
    client.table["old"] = item("old")
    writer = make_writer(client, clock)
    with writer:
        writer.put(item(1), 10, 1)
        writer.delete({"id": {"S": "1"}})  # put then delete in one batch: only the delete goes
        writer.delete({"id": {"S": "2"}})
        writer.put(item(2, "back"), 10, 1)  # delete then put: only the put goes
        writer.delete({"id": {"S": "old"}})  # left unprocessed once, then retried
    assert client.calls[0] == ["DeleteRequest", "PutRequest", "DeleteRequest"]
    assert client.calls[1] == ["DeleteRequest"]
    assert client.table == {"2": item(2, "back")}
    assert (writer.written, writer.deleted, writer.collapsed_duplicates, writer.retried_items) == (1, 2, 2, 1)


def test_adaptive_rate_climbs_while_not_throttled_and_probes_back_off():
    clock = FakeClock()
    limiter = RateLimiter(1000, clock=clock, sleep=clock.sleep, ceiling=3000, probe_seconds=2, probe_step=0.2)

    def succeed_for(seconds):
        end = clock.now + seconds
        while clock.now < end:
            clock.now += 0.1
            limiter.on_success()

    succeed_for(2.05)
    assert (limiter.rate, limiter.max_rate) == (1200, 1000)  # probing 20% higher
    limiter.on_throttle()  # the probe failed: back to what held, not to half of it
    assert (limiter.rate, limiter.failed_probes) == (1000, 1)
    succeed_for(3.9)
    assert limiter.rate == 1000  # waits twice as long (4 s) before probing again
    succeed_for(0.2)
    assert limiter.rate == 1200
    succeed_for(3.7)
    assert (limiter.max_rate, limiter.rate) == (1000, 1200)  # after a failure a probe must hold 4 s
    succeed_for(0.4)  # it held: it becomes the floor, the wait is 2 s again, the next probe starts
    assert (limiter.max_rate, limiter.rate) == (1200, 1440)
    succeed_for(20)
    assert limiter.rate == limiter.max_rate == 3000  # up to the ceiling, never past it
    limiter.on_throttle()  # throttled at a rate that held: real overload, halve as before
    assert limiter.rate == 1500


def test_without_a_ceiling_the_rate_never_climbs():
    clock = FakeClock()
    limiter = RateLimiter(1000, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        clock.now += 0.1
        limiter.on_success()
    assert limiter.rate == 1000 and limiter.probes == 0


class RandomlyUnprocessed(StubClient):
    """Leaves each item unprocessed with a fixed probability (seeded), like the throttling proxy."""

    def __init__(self, share, seed, clock):
        super().__init__(clock=clock)
        self.rng = random.Random(seed)
        self.share = share

    def batch_write_item(self, RequestItems):
        ((name, requests),) = RequestItems.items()
        self.calls.append(len(requests))
        rest = [r for r in requests if self.rng.random() < self.share]
        for request in requests:
            if not any(request is r for r in rest):
                self.table[request["PutRequest"]["Item"]["id"]["S"]] = request["PutRequest"]["Item"]
        return {"UnprocessedItems": {name: rest}} if rest else {}


@pytest.mark.parametrize("seed", range(5))
def test_the_tail_of_retries_is_paced_by_the_budget_not_by_growing_backoff(seed):
    """500 WCU/s, 3 WCU items, 30% of every batch unprocessed: the whole partition, its last
    retries included, takes about what its units take at 500 WCU/s (counted on a fake clock)."""
    clock = FakeClock()
    client = RandomlyUnprocessed(0.3, seed, clock)
    writer = BatchWriter(
        client,
        "t",
        ["id"],
        RateLimiter(500, clock=clock, sleep=clock.sleep),
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(seed),
    )
    with writer:
        for i in range(2000):
            writer.put(item(i), 2500, 3)
    assert len(client.table) == 2000 and writer.consumed_units == 6000
    assert clock.now <= 6000 / 500 * 1.05  # within 5% of the budget's own pace: no idle tail


class SlowServer:
    """A thread-safe stub that answers after a delay and applies a call's writes when it answers
    (the adversarial order: a later call that answers first lands first)."""

    def __init__(self, delays, fail_first=False):
        import threading

        self.delays = list(delays)
        self.fail_first = fail_first
        self.lock = threading.Lock()
        self.table = {}
        self.calls = self.in_flight = self.peak = 0

    def batch_write_item(self, RequestItems):
        import time

        with self.lock:
            number = self.calls
            self.calls += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(self.delays[number] if number < len(self.delays) else 0.001)
        with self.lock:
            self.in_flight -= 1
            if self.fail_first and number == 0:
                raise EndpointConnectionError(endpoint_url="http://x")
            for request in RequestItems["t"]:
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    self.table[item["id"]["S"]] = item["v"]["S"]
                else:
                    self.table.pop(request["DeleteRequest"]["Key"]["id"]["S"], None)
        return {"UnprocessedItems": {}}


def in_flight_writer(server, max_in_flight=4):
    writer = BatchWriter(server, "t", ["id"], RateLimiter(1e9), max_in_flight=max_in_flight, base_delay=0.001)
    writer.round_trip = 0.01  # measured on the first answers; set so the window opens at once
    return writer


def test_several_calls_are_in_flight_and_every_item_lands():
    server = SlowServer([0.02] * 40)
    writer = in_flight_writer(server)
    write(writer, [item(i) for i in range(500)])
    assert server.peak >= 2 and writer.peak_in_flight >= 2
    assert writer.written == 500 and len(server.table) == 500


def test_a_later_write_of_a_key_never_overtakes_an_earlier_one_in_flight():
    """The first call answers last; the key it holds is written again (a delete, then a put:
    a catch-up's changed row) in a later call, which must wait for it."""
    server = SlowServer([0.2] + [0.001] * 20)
    writer = in_flight_writer(server)
    with writer:
        writer.put(item("k", "old"), 10, 1)
        for i in range(24):
            writer.put(item(i), 10, 1)  # the first batch goes: "k" in flight for 0.2 s
        writer.delete({"id": {"S": "k"}})
        writer.put(item("k", "new"), 10, 1)
        for i in range(24, 100):
            writer.put(item(i), 10, 1)
    assert server.table["k"] == "new"
    assert writer.written == 102  # "old", "new" and the 100 others


def test_a_failed_call_in_flight_is_sent_again():
    server = SlowServer([0.01] * 10, fail_first=True)
    writer = in_flight_writer(server)
    write(writer, [item(i) for i in range(100)])
    assert len(server.table) == 100 and writer.throttle_events == 1


def test_the_window_follows_the_rate_at_the_measured_round_trip():
    writer = BatchWriter(SlowServer([]), "t", ["id"], RateLimiter(4000), max_in_flight=8)
    assert writer.window() == 1  # nothing measured yet
    writer.round_trip = 0.015  # 4,000 units/s x 15 ms = 60 units: three batches, plus one
    assert writer.window() == 4
    writer.round_trip = 0.2
    assert writer.window() == 8  # the setting caps it
    assert BatchWriter(SlowServer([]), "t", ["id"], RateLimiter(4000), max_in_flight=1).window() == 1
