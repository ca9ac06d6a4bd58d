"""What each Spark worker keeps for DynamoDB: one client and one write budget's limiter per
table, built from the job's frozen spec (never from the driver's objects)."""

from typing import Dict, Optional

# Spark reuses Python workers across tasks: one client and one budget per worker and
# table, so a new partition neither rebuilds the client nor starts with an empty bucket.
_WORKER_CLIENTS: Dict[tuple, object] = {}
_WORKER_LIMITERS: Dict[tuple, object] = {}


def worker_client(spec, own_retries: bool = True):
    """The worker's client: own_retries for the writer (it retries and paces itself), botocore's
    standard retries for reads (a verification's Scan segments)."""
    return endpoint_client(spec.endpoint.url, spec.endpoint.region, own_retries)


def endpoint_client(url: Optional[str], region: str, own_retries: bool = False):
    from jobs.dynamodb.tables import make_client

    key = (url, region, own_retries)
    if key not in _WORKER_CLIENTS:
        _WORKER_CLIENTS[key] = make_client(url, region, own_retries=own_retries)
    return _WORKER_CLIENTS[key]


def worker_limiter(spec):
    from jobs.dynamodb.writer import RateLimiter

    key = (spec.endpoint.url, spec.target, spec.rate_per_task, spec.ceiling_per_task, spec.probe_seconds)
    if key not in _WORKER_LIMITERS:
        _WORKER_LIMITERS[key] = RateLimiter(
            spec.rate_per_task, ceiling=spec.ceiling_per_task or None, probe_seconds=spec.probe_seconds
        )
    return _WORKER_LIMITERS[key]


def worker_writer(spec, client=None):
    """A BatchWriter for one task of spec's table: the worker's client and limiter."""
    from jobs.dynamodb.writer import BatchWriter

    return BatchWriter(
        client or worker_client(spec),
        spec.target,
        spec.layout.item_key,
        worker_limiter(spec),
        spec.max_retry_seconds,
        max_in_flight=spec.max_in_flight,
    )
