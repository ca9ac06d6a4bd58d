"""BatchWriteItem with batching, in-batch dedupe, backoff and a write budget.

The client is injected, so unit tests drive it with a stub that throttles or returns
UnprocessedItems. Puts are idempotent, so a failed Spark task may simply be retried.
"""
import random
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from jobs.errors import WriteFailed

MAX_BATCH_ITEMS = 25
MAX_BATCH_BYTES = 16 * 1024 * 1024
RETRYABLE_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "InternalFailure", "LimitExceededException",
})


class RateLimiter:
    """Token bucket in write units per second; halves on throttling, creeps back up (AIMD)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, minimum: float = 1.0):
        self.max_rate = float(rate)
        self.rate = float(rate)
        self.minimum = min(minimum, self.max_rate)
        self._clock, self._sleep = clock, sleep
        self._tokens = self.rate  # one second of burst
        self._last = clock()

    def acquire(self, units: float) -> None:
        now = self._clock()
        self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= units
        if self._tokens < 0:
            self._sleep(-self._tokens / self.rate)

    def on_throttle(self) -> None:
        self.rate = max(self.minimum, self.rate / 2)

    def on_success(self) -> None:
        self.rate = min(self.max_rate, self.rate + self.max_rate / 20)


class BatchWriter:
    def __init__(self, client, table: str, key_attributes: Sequence[str], limiter: RateLimiter,
                 max_retry_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, rng: Optional[random.Random] = None,
                 base_delay: float = 0.05, max_delay: float = 5.0):
        self.client = client
        self.table = table
        self.key_attributes = tuple(key_attributes)
        self.limiter = limiter
        self.max_retry_seconds = max_retry_seconds
        self._clock, self._sleep = clock, sleep
        self._rng = rng or random.Random()
        self.base_delay, self.max_delay = base_delay, max_delay
        self._buffer: Dict[Tuple, Tuple[dict, int, int]] = {}  # key -> (item, bytes, units)
        self._buffer_bytes = 0
        self.written = 0
        self.retried_items = 0
        self.throttle_events = 0
        self.collapsed_duplicates = 0
        self.batches = 0
        self.consumed_units = 0

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.flush()

    def put(self, item: dict, size_bytes: int, units: int) -> None:
        key = tuple(next(iter(item[a].values())) for a in self.key_attributes)
        if key in self._buffer:  # a batch may not hold one key twice: the last write wins
            self.collapsed_duplicates += 1
            self._buffer_bytes -= self._buffer.pop(key)[1]
        elif (len(self._buffer) >= MAX_BATCH_ITEMS
              or self._buffer_bytes + size_bytes > MAX_BATCH_BYTES):
            self.flush()
        self._buffer[key] = (item, size_bytes, units)
        self._buffer_bytes += size_bytes
        if len(self._buffer) >= MAX_BATCH_ITEMS:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        pending = [({"PutRequest": {"Item": item}}, units) for item, _, units in self._buffer.values()]
        self._buffer.clear()
        self._buffer_bytes = 0
        self._send(pending)

    def _send(self, pending: List[Tuple[dict, int]]) -> None:
        started = self._clock()
        attempt = 0
        while pending:
            self.limiter.acquire(sum(units for _, units in pending))
            try:
                response = self.client.batch_write_item(RequestItems={self.table: [r for r, _ in pending]})
            except Exception as error:  # noqa: BLE001 - classified just below
                if not _is_retryable(error):
                    raise WriteFailed(f"DynamoDB table {self.table}: {_describe(error)}") from error
                self.throttle_events += 1
                self.limiter.on_throttle()
                attempt = self._back_off(attempt, started, error)
                continue
            self.batches += 1
            unprocessed = response.get("UnprocessedItems", {}).get(self.table, [])
            done = len(pending) - len(unprocessed)
            self.written += done
            if not unprocessed:
                self.consumed_units += sum(units for _, units in pending)
                self.limiter.on_success()
                return
            self.retried_items += len(unprocessed)
            remaining = self._match_by_key(pending, unprocessed)
            self.consumed_units += sum(u for _, u in pending) - sum(u for _, u in remaining)
            pending = remaining
            self.limiter.on_throttle()
            attempt = self._back_off(attempt, started, None)

    def _match_by_key(self, pending, unprocessed):
        units_by_key = {self._key_of(r): u for r, u in pending}
        return [(r, units_by_key.get(self._key_of(r), 1)) for r in unprocessed]

    def _key_of(self, request: dict) -> Tuple:
        item = request["PutRequest"]["Item"]
        return tuple(next(iter(item[a].values())) for a in self.key_attributes)

    def _back_off(self, attempt: int, started: float, error) -> int:
        elapsed = self._clock() - started
        if elapsed > self.max_retry_seconds:
            what = _describe(error) if error is not None else "items still unprocessed"
            raise WriteFailed(
                f"DynamoDB table {self.table}: gave up after {elapsed:.0f}s of retries "
                f"(dynamodb.max_retry_seconds={self.max_retry_seconds:g}): {what}"
            )
        cap = min(self.max_delay, self.base_delay * (2 ** attempt))
        self._sleep(self._rng.uniform(0, cap))  # full jitter
        return attempt + 1


def _error_code(error) -> Optional[str]:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def _is_retryable(error) -> bool:
    code = _error_code(error)
    if code is not None:
        status = getattr(error, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in RETRYABLE_CODES or status >= 500
    name = type(error).__name__
    return name in {"EndpointConnectionError", "ConnectionClosedError", "ReadTimeoutError",
                    "ConnectTimeoutError", "ConnectionError", "ProtocolError"} or isinstance(error, ConnectionError)


def _describe(error) -> str:
    code = _error_code(error)
    if code is not None:
        message = getattr(error, "response", {}).get("Error", {}).get("Message", "")
        return f"{code}: {message}"
    return f"{type(error).__name__}: {error}"
