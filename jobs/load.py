"""Executor side: write one Spark partition of rendered rows to DynamoDB.

Runs inside Spark tasks, so it takes only plain values (a dict spec) and builds its
own boto3 client from them; nothing from the driver's objects is used.
"""
import json
import tempfile
import time
from typing import Dict, Iterable, Iterator, Optional, Tuple

from mapping.items import item_size, plain_item, reject_reason, to_wire, write_units

# Spark reuses Python workers across tasks: one client and one budget per worker and
# table, so a new partition neither rebuilds the client nor starts with an empty bucket.
_WORKER_CLIENTS: Dict[tuple, object] = {}
_WORKER_LIMITERS: Dict[tuple, object] = {}

STAT_FIELDS = ("rows", "written", "rejected", "retried_items", "throttle_events",
               "collapsed_duplicates", "duplicate_rows", "consumed_units", "seconds")


def write_spec(plan, endpoint_url, region, rate_per_task, dynamodb_config, rejects_path, layout) -> Dict:
    """Everything a task needs, as plain values (pickled to the executors)."""
    return {
        "database": plan.source.database,
        "table": plan.source.name,
        "target": plan.target,
        "attributes": list(layout),
        "hash_attribute": plan.key.hash_attribute,
        "range_attribute": plan.key.range_attribute,
        "item_key": [plan.key.hash_attribute] + ([plan.key.range_attribute] if plan.key.range_attribute else []),
        "key_attributes": [plan.attribute_of_column(c) for c in plan.key.source_columns]
        or [plan.key.hash_attribute],
        "row_id": plan.key.synthesized_hash,
        "endpoint_url": endpoint_url,
        "region": region,
        "rate_per_task": rate_per_task,
        "max_retry_seconds": dynamodb_config.max_retry_seconds,
        "null_as": dynamodb_config.null_as,
        "rejects_path": rejects_path,
    }


def build_item(row, spec: Dict) -> Tuple[Dict, int, Optional[str]]:
    """A row as an item, its size in bytes, and why DynamoDB would refuse it (or None).

    The load and the verification's source side both go through here, so they agree.
    """
    item = plain_item(row, spec["attributes"], spec["null_as"])
    size = item_size(item)
    return item, size, reject_reason(item, size, spec["hash_attribute"], spec["range_attribute"])


def write_partition(rows: Iterable, spec: Dict, client=None, partition_id=None) -> Iterator[Dict]:
    """Write rows; yield one stats dict. Rejected rows go to one JSON-lines file per partition."""
    from jobs import storage
    from jobs.dynamo import make_client
    from jobs.writer import BatchWriter, RateLimiter

    if partition_id is None:
        from pyspark import TaskContext

        partition_id = TaskContext.get().partitionId()
        if spec.get("partition_ids"):  # a resumed run reads a subset: keep the original numbers
            partition_id = spec["partition_ids"][partition_id]
    if client is None:
        client_key = (spec["endpoint_url"], spec["region"])
        if client_key not in _WORKER_CLIENTS:
            _WORKER_CLIENTS[client_key] = make_client(spec["endpoint_url"], spec["region"], own_retries=True)
        client = _WORKER_CLIENTS[client_key]
    limiter_key = (spec["endpoint_url"], spec["target"], spec["rate_per_task"])
    if limiter_key not in _WORKER_LIMITERS:
        _WORKER_LIMITERS[limiter_key] = RateLimiter(spec["rate_per_task"])
    writer = BatchWriter(client, spec["target"], spec["item_key"], _WORKER_LIMITERS[limiter_key],
                         spec["max_retry_seconds"])
    stats = dict.fromkeys(STAT_FIELDS, 0)
    started = time.monotonic()
    rejects_file = None
    try:
        with writer:
            for row in rows:
                stats["rows"] += 1
                item, size, reason = build_item(row, spec)
                if spec["row_id"] and "#" in item.get(spec["hash_attribute"], ""):
                    stats["duplicate_rows"] += 1  # row ids of exact duplicates carry '#<n>'
                if reason is not None:
                    if rejects_file is None:
                        rejects_file = tempfile.NamedTemporaryFile(
                            "w", encoding="utf-8", suffix=".jsonl", delete=False)
                    rejects_file.write(json.dumps(_reject_record(spec, item, reason, size), ensure_ascii=False) + "\n")
                    stats["rejected"] += 1
                    continue
                writer.put(to_wire(item), size, write_units(size))
    finally:
        if rejects_file is not None:
            rejects_file.close()
    if rejects_file is not None:
        name = f"part-{partition_id:05d}.jsonl"  # a retried task replaces its own file
        storage.upload_file(rejects_file.name, storage.join(spec["rejects_path"], name))
    if spec.get("marker_folder"):  # every item of this partition is written: resume may skip it
        from jobs.state import marker_name

        storage.write_text(storage.join(spec["marker_folder"], marker_name(partition_id)), "done\n")
    stats.update(written=writer.written, retried_items=writer.retried_items,
                 throttle_events=writer.throttle_events, collapsed_duplicates=writer.collapsed_duplicates,
                 consumed_units=writer.consumed_units, seconds=time.monotonic() - started)
    yield stats


def _reject_record(spec: Dict, item: Dict, reason: str, size: int) -> Dict:
    return {
        "database": spec["database"],
        "table": spec["table"],
        "key": {a: item.get(a) for a in spec["key_attributes"]},
        "reason": reason,
        "item_bytes": size,
    }


def sum_stats(parts: Iterable[Dict]) -> Dict:
    total = dict.fromkeys(STAT_FIELDS, 0)
    for part in parts:
        for field in STAT_FIELDS:
            total[field] += part.get(field, 0)
    return total


def clear_rejects(path: str) -> None:
    """Remove a table's previous rejects before it is migrated again (local or s3://)."""
    from jobs import storage

    for name in storage.list_names(path):
        if name.startswith("part-") and name.endswith(".jsonl"):
            storage.remove_file(path, name)
