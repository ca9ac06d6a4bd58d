"""Executor side: write one Spark partition of rendered rows to DynamoDB.

Runs inside Spark tasks, so it takes only a frozen LoadSpec and builds its own boto3
client from it; nothing from the driver's objects is used. Nothing here records a
partition as finished: the driver does, from the stats of tasks Spark counted as successful.
"""

import json
import tempfile
import time
from typing import Dict, Iterable, Iterator, Optional, Union

from jobs.dynamodb.workers import worker_writer
from jobs.load.live_rows import RowsReporter
from mapping.items import build_item, key_of, reject_record, to_wire, write_units
from mapping.keys import SEPARATOR

STAT_FIELDS = (
    "rows",
    "written",
    "rejected",
    "merged_rows",
    "retried_items",
    "throttle_events",
    "collapsed_duplicates",
    "duplicate_rows",
    "consumed_units",
    "staged_bytes",
    "seconds",
)


class RejectsFile:
    """Rejected rows of one partition: a local temporary file, published once the loop ends."""

    def __init__(self):
        self._file = None
        self.count = 0

    def add(self, record: Dict) -> None:
        if self._file is None:
            self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open across rows, closed by publish()
                "w", encoding="utf-8", suffix=".jsonl", delete=False
            )
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def publish(self, path: str) -> None:
        if self._file is not None:
            from jobs import storage

            storage.upload_file(self._file.name, path)


def write_rows(rows: Iterable, spec, writer, rejects: RejectsFile, reporter: Optional[RowsReporter] = None) -> Dict:
    """The row loop: build each item, reject what DynamoDB would refuse, put the rest
    (writer: a BatchWriter, or a StagedObject in import mode: the same items either way)."""
    stats = dict.fromkeys(STAT_FIELDS, 0)
    layout = spec.layout
    previous_key = None
    for row in rows:
        stats["rows"] += 1
        if reporter is not None:
            reporter.rows(stats["rows"])
        item, size, reason = build_item(row, layout)
        if layout.row_id and SEPARATOR in (item.get(layout.hash_attribute) or ""):
            stats["duplicate_rows"] += 1  # row ids of exact duplicates carry '#<n>'
        if reason is not None:
            rejects.add(reject_record(spec.database, spec.table, item, layout, reason, size))
            continue
        if spec.count_merged:
            key = key_of(item, layout)
            if key == previous_key:
                stats["merged_rows"] += 1
            previous_key = key
        writer.put(to_wire(item, layout.numbers), size, write_units(size))
    stats["rejected"] = rejects.count
    return stats


def write_partition(rows: Iterable, spec, client=None, partition_id: Optional[int] = None) -> Iterator[Dict]:
    """Write rows; yield one stats dict for the partition. Rejected rows go to one file per partition."""
    from jobs import storage
    from jobs.dynamodb.writer import BatchWriter

    if partition_id is None:
        from pyspark import TaskContext

        context = TaskContext.get()
        assert context is not None, "write_partition runs in a Spark task unless given its partition"
        partition_id = spec.partition_number(context.partitionId())
    if spec.staging_path:
        from jobs.dynamodb.staging import StagedObject

        writer: Union[StagedObject, BatchWriter] = StagedObject(
            storage.join(spec.staging_path, part_file_name(partition_id, STAGED_SUFFIX))
        )
    else:
        writer = worker_writer(spec, client)
    started = time.monotonic()
    rejects = RejectsFile()
    reporter = RowsReporter(spec.progress_to, spec.target, partition_id, spec.progress_seconds)
    try:
        with writer:
            stats = write_rows(rows, spec, writer, rejects, reporter)
    finally:
        rejects.close()
        reporter.close()
    if not spec.count_merged:  # a load writes each key once: two rows the writer collapsed shared one
        stats["merged_rows"] += writer.collapsed_duplicates
    rejects.publish(storage.join(spec.rejects_path, part_file_name(partition_id, ".jsonl")))
    stats.update(
        partition=partition_id,
        written=writer.written,
        retried_items=writer.retried_items,
        throttle_events=writer.throttle_events,
        collapsed_duplicates=writer.collapsed_duplicates,
        consumed_units=writer.consumed_units,
        staged_bytes=getattr(writer, "staged_bytes", 0),
        seconds=time.monotonic() - started,
    )
    yield stats


STAGED_SUFFIX = ".json.gz"


def part_file_name(partition: int, suffix: str) -> str:
    """The one rule for per-partition file names (a retried task replaces its own file)."""
    return f"part-{partition:05d}{suffix}"


def sum_stats(parts: Iterable[Dict]) -> Dict:
    total = dict.fromkeys(STAT_FIELDS, 0)
    for part in parts:
        for name in STAT_FIELDS:
            total[name] += part.get(name, 0)
    return total


def clear_staged(path: str, recorded: Dict[str, Optional[str]]) -> None:
    """Remove the objects an earlier run of the table staged, and only those: each one it
    recorded with the same version (ETag), or, for a run that stopped while staging, by the
    name it was writing. Anything else stays, whatever its name (the caller then stops)."""
    from jobs import storage

    for name, version in storage.list_versions(path).items():
        if name in recorded and recorded[name] in (None, version):
            storage.remove_file(path, name)


def clear_rejects(path: str) -> None:
    """Remove a table's previous rejects before it is migrated again (local or s3://)."""
    from jobs import storage

    for name in storage.list_names(path):
        if name.startswith("part-") and name.endswith(".jsonl"):
            storage.remove_file(path, name)
