"""BatchWriteItem with batching, in-batch dedupe, backoff and a write budget.

The client is injected, so unit tests drive it with a stub that throttles or returns
UnprocessedItems. Puts are idempotent, so a failed Spark task may simply be retried.
"""

import math
import random
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Set, Tuple

from jobs.errors import WriteFailed, aws_error_code, describe_aws_error

MAX_BATCH_ITEMS = 25
MAX_BATCH_BYTES = 16 * 1024 * 1024
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "InternalFailure",
        "LimitExceededException",
    }
)


class RateLimiter:
    """Token bucket in write units per second; halves on throttling, creeps back up (AIMD).

    The bucket starts empty and holds at most BURST_SECONDS of budget, so over any run the
    units consumed never exceed rate x elapsed time by more than one batch, nor by more than
    a fifth of a second's budget after an idle gap: workers that idle between partitions (the
    next JDBC read) and start again together must not send a second's savings at once.

    With a ceiling above the starting rate (an on-demand table climbing to target_wcu), a
    rate that held for probe_seconds without throttling becomes the rate to return to, and
    the next probe asks probe_step more. A throttle during a probe goes back to the rate that
    held (not half of it) and doubles the wait before the next probe, so while DynamoDB has not
    grown yet, probing costs a few throttled calls per wait, fewer and fewer.
    """

    MAX_PROBE_WAIT = 60.0
    BURST_SECONDS = 0.2

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        minimum: float = 1.0,
        ceiling: Optional[float] = None,
        probe_seconds: float = 4.0,
        probe_step: float = 0.1,
    ):
        self.max_rate = float(rate)  # the highest rate known to hold: throttling recovers to it
        self.ceiling = max(self.max_rate, float(ceiling or rate))
        self.rate = float(rate)
        self.minimum = min(minimum, self.max_rate)
        self.probe_seconds, self.probe_step = probe_seconds, probe_step
        self.probes = self.failed_probes = 0
        self._clock, self._sleep = clock, sleep
        self._tokens = 0.0
        self._last = clock()
        self._probe_wait = probe_seconds
        self._next_probe = self._last + probe_seconds

    def acquire(self, units: float) -> None:
        self._refill()
        self._tokens -= units
        if self._tokens < 0:
            self._sleep(-self._tokens / self.rate)

    def refund(self, units: float) -> None:
        """Give back units acquired for items DynamoDB did not process (they were within the
        budget when acquired, so they may exceed the burst again)."""
        self._refill()
        self._tokens = min(self.rate, self._tokens + units)

    def _refill(self) -> None:
        now = self._clock()
        if self._tokens < self._capacity:
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    @property
    def _capacity(self) -> float:
        return self.rate * self.BURST_SECONDS

    @property
    def probing(self) -> bool:
        return self.rate > self.max_rate

    def on_throttle(self) -> None:
        now = self._clock()
        if self.probing:
            self.failed_probes += 1
            self.rate = self.max_rate
            self._probe_wait = min(self.MAX_PROBE_WAIT, self._probe_wait * 2)
        else:
            self.rate = max(self.minimum, self.rate / 2)
        self._next_probe = now + self._probe_wait

    def on_success(self) -> None:
        if self.rate < self.max_rate:
            self.rate = min(self.max_rate, self.rate + self.max_rate / 20)
            return
        if self.ceiling <= self.max_rate or self._clock() < self._next_probe:
            return
        if self.probing:  # the probe held for a whole wait: its rate is the new floor to return to
            self.max_rate = self.rate
            self._probe_wait = self.probe_seconds
        if self.max_rate < self.ceiling:
            self.probes += 1
            self.rate = min(self.ceiling, self.max_rate * (1 + self.probe_step))
        self._next_probe = self._clock() + self._probe_wait


PUT, DELETE = "PutRequest", "DeleteRequest"


@dataclass
class _Pending:
    item: dict  # the item for a put, its key for a delete
    size: int
    units: int
    request: str = PUT
    attempt: int = 0
    not_before: float = 0.0
    failing_since: Optional[float] = None


@dataclass
class _InFlight:
    batch: List[Tuple[Tuple, "_Pending"]]
    units: int
    future: "Future[Tuple[Dict[str, Any], float]]"


class BatchWriter:
    """Buffers puts into BatchWriteItem calls of at most 25 items / 16 MB.

    - A key written twice before it is sent (put or delete) is sent once: the last request wins.
    - UnprocessedItems wait out their own exponential backoff with full jitter in a retry
      queue while new items keep flowing, so one slow item does not stall the task; once
      only retries are left, the token bucket paces them instead (see _pace_tail).
    - Throttling errors pause the whole task with the same backoff and halve its rate.
    - An item that cannot be written for max_retry_seconds fails the task (WriteFailed).
    - Up to max_in_flight calls are in flight at once (threads over the thread-safe client),
      as many as the rate needs at the measured round trip: at 15 ms one call at a time
      writes ~1,600 items/s whatever the budget. Every answer is handled here, in order, so
      the budget and the retry queues stay single-threaded; a key with a call in flight is
      not sent again until that call has answered, so writes of one key never overtake.
    """

    def __init__(
        self,
        client,
        table: str,
        key_attributes: Sequence[str],
        limiter: RateLimiter,
        max_retry_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: Optional[random.Random] = None,
        base_delay: float = 0.05,
        max_delay: float = 5.0,
        max_in_flight: int = 1,
    ):
        self.client = client
        self.table = table
        self.key_attributes = tuple(key_attributes)
        self.limiter = limiter
        self.max_retry_seconds = max_retry_seconds
        self._clock, self._sleep = clock, sleep
        self._rng = rng or random.Random()
        self.base_delay, self.max_delay = base_delay, max_delay
        self._fresh: Dict[Tuple, _Pending] = {}  # not yet sent, in put order
        self._retry: Dict[Tuple, _Pending] = {}  # sent, came back unprocessed
        self._error_attempt = 0
        self._failing_since: Optional[float] = None
        self.written = 0
        self.deleted = 0
        self.retried_items = 0
        self.throttle_events = 0
        self.collapsed_duplicates = 0
        self.batches = 0
        self.consumed_units = 0
        self.max_in_flight = max(1, int(max_in_flight))
        self._in_flight: Deque[_InFlight] = deque()
        self._in_flight_keys: Set[Tuple] = set()
        self._executor: Optional[ThreadPoolExecutor] = None
        self.round_trip = 0.0  # seconds a call takes, smoothed
        self.peak_in_flight = 0

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.flush()
        finally:
            self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def put(self, item: dict, size_bytes: int, units: int) -> None:
        self._queue(_Pending(item, size_bytes, units))

    def delete(self, key: dict) -> None:
        """Delete the item with this key (wire form, key attributes only); 1 WCU for items up to 1 KB."""
        self._queue(_Pending(key, 0, 1, DELETE))

    def _queue(self, pending: _Pending) -> None:
        key = self._key(pending.item)
        if key in self._fresh or key in self._retry:  # the last write of a key wins
            self.collapsed_duplicates += 1
            self._fresh.pop(key, None)
            self._retry.pop(key, None)
        elif key in self._in_flight_keys:  # written again before its call answered: it waits, then wins
            self.collapsed_duplicates += 1
        self._fresh[key] = pending
        if len(self._fresh) + self._due_count() >= MAX_BATCH_ITEMS:
            self._send_batch()

    def flush(self) -> None:
        while self._fresh or self._retry or self._in_flight:
            if self._in_flight and not any(k not in self._in_flight_keys for k in self._fresh):
                self._answer_oldest()  # nothing new to send beside it: its answer may bring retries
                continue
            if not self._fresh:
                self._pace_tail()
            self._send_batch()

    def window(self) -> int:
        """Calls to keep in flight: enough for the rate at the measured round trip, plus one."""
        if self.max_in_flight == 1 or self.round_trip <= 0:
            return 1
        needed = 1 + math.ceil(self.limiter.rate * self.round_trip / MAX_BATCH_ITEMS)
        return max(1, min(self.max_in_flight, needed))

    def _pace_tail(self) -> None:
        """Only retries are left: the budget is idle, so the next batch of them waits for the
        token bucket's pace (its units at the current rate, at least base_delay), not for
        backoffs that grow past it. It goes when its items are all due or the pace has passed,
        whichever comes first; an item DynamoDB keeps refusing is resent every base_delay at
        most (boto3's own batch writer resends at once)."""
        waiting = sorted(self._retry.values(), key=lambda p: p.not_before)[:MAX_BATCH_ITEMS]
        now = self._clock()
        paced_at = now + max(self.base_delay, sum(p.units for p in waiting) / self.limiter.rate)
        send_at = min(waiting[-1].not_before, paced_at)
        for pending in waiting:
            pending.not_before = min(pending.not_before, send_at)
        self._sleep(max(0.0, send_at - now))

    def _key(self, item: dict) -> Tuple:
        return tuple(next(iter(item[a].values())) for a in self.key_attributes)

    def _due_count(self) -> int:
        now = self._clock()
        return sum(1 for p in self._retry.values() if p.not_before <= now)

    def _take_batch(self) -> List[Tuple[Tuple, _Pending]]:
        now = self._clock()
        batch: List[Tuple[Tuple, _Pending]] = []
        size = 0
        for source in (self._retry, self._fresh):
            for key in list(source):
                pending = source[key]
                if source is self._retry and pending.not_before > now:
                    continue
                if key in self._in_flight_keys:  # its earlier write has not answered yet
                    continue
                if len(batch) == MAX_BATCH_ITEMS or size + pending.size > MAX_BATCH_BYTES:
                    return batch
                batch.append((key, source.pop(key)))
                size += pending.size
        return batch

    def _send_batch(self) -> None:
        batch = self._take_batch()
        if not batch:
            if self._in_flight:
                self._answer_oldest()
            return
        units = sum(p.units for _, p in batch)
        self.limiter.acquire(units)
        request = {self.table: [{p.request: {"Item" if p.request == PUT else "Key": p.item}} for _, p in batch]}
        if self.max_in_flight == 1:
            try:
                response, seconds = self._call(request)
            except Exception as error:  # noqa: BLE001 - _failed raises what is not retryable
                self._failed(batch, units, error)
                return
            self._answered(batch, response, seconds)
            return
        while len(self._in_flight) >= self.window():
            self._answer_oldest()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="batch-write")
        self._in_flight.append(_InFlight(batch, units, self._executor.submit(self._call, request)))
        self._in_flight_keys.update(key for key, _ in batch)
        self.peak_in_flight = max(self.peak_in_flight, len(self._in_flight))

    def _call(self, request: Dict[str, Any]) -> Tuple[Dict[str, Any], float]:
        started = time.perf_counter()
        response = self.client.batch_write_item(RequestItems=request)
        return response, time.perf_counter() - started

    def _answer_oldest(self) -> None:
        flight = self._in_flight.popleft()
        self._in_flight_keys.difference_update(key for key, _ in flight.batch)
        try:
            response, seconds = flight.future.result()
        except Exception as error:  # noqa: BLE001 - _failed raises what is not retryable
            self._failed(flight.batch, flight.units, error)
            return
        self._answered(flight.batch, response, seconds)

    def _failed(self, batch: List[Tuple[Tuple, _Pending]], units: int, error: Exception) -> None:
        if not _is_retryable(error):
            raise WriteFailed(f"DynamoDB table {self.table}: {describe_aws_error(error)}") from error
        self.throttle_events += 1
        self.limiter.refund(units)
        self.limiter.on_throttle()
        for key, pending in reversed(batch):  # back to the front of the line, in order
            if key in self._fresh:  # a newer write of this key is already waiting: it wins
                continue
            self._retry = {key: pending, **self._retry}
        self._pause_after_error(error)

    def _answered(self, batch: List[Tuple[Tuple, _Pending]], response: Dict[str, Any], seconds: float) -> None:
        self.round_trip = seconds if not self.round_trip else 0.8 * self.round_trip + 0.2 * seconds
        self.batches += 1
        self._error_attempt, self._failing_since = 0, None
        self.limiter.on_success()
        unprocessed = {
            self._key(r[PUT]["Item"] if PUT in r else r[DELETE]["Key"])
            for r in response.get("UnprocessedItems", {}).get(self.table, [])
        }
        now = self._clock()
        for key, pending in batch:
            if key not in unprocessed:
                if pending.request == PUT:
                    self.written += 1
                else:
                    self.deleted += 1
                self.consumed_units += pending.units
                continue
            # Unprocessed items cost no capacity: their units go back to the budget.
            self.retried_items += 1
            self.limiter.refund(pending.units)
            if pending.failing_since is None:
                pending.failing_since = now
            self._give_up_after(pending.failing_since, now, "item still unprocessed")
            pending.not_before = now + self._jitter(pending.attempt)
            pending.attempt += 1
            if key in self._fresh:  # a newer value of this key is already waiting
                continue
            self._retry[key] = pending

    def _pause_after_error(self, error) -> None:
        now = self._clock()
        if self._failing_since is None:
            self._failing_since = now
        self._give_up_after(self._failing_since, now, describe_aws_error(error))
        self._sleep(self._jitter(self._error_attempt))
        self._error_attempt += 1

    def _give_up_after(self, since: float, now: float, what: str) -> None:
        if now - since > self.max_retry_seconds:
            raise WriteFailed(
                f"DynamoDB table {self.table}: gave up after {now - since:.0f}s of retries "
                f"(dynamodb.max_retry_seconds={self.max_retry_seconds:g}): {what}"
            )

    def _jitter(self, attempt: int) -> float:
        return self._rng.uniform(0, min(self.max_delay, self.base_delay * (2 ** min(attempt, 30))))  # full jitter


def _is_retryable(error) -> bool:
    code = aws_error_code(error)
    if code is not None:
        status = getattr(error, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in RETRYABLE_CODES or status >= 500
    name = type(error).__name__
    return name in {
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "ConnectionError",
        "ProtocolError",
    } or isinstance(error, ConnectionError)
