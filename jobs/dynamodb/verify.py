"""Verification: source rows vs DynamoDB items, per bucket of keys (mapping.comparison), then
key by key in the buckets that differ. Verification and --repair compare this way.

Both sides are computed in Spark: the source through the same read and item building as
the load (rejected rows excluded), DynamoDB through a parallel Scan, one segment per task.
The driver holds two summaries and the examples, never a table's keys.
"""

import json
from typing import Callable, Dict, Iterable, Iterator, Optional, Set, Tuple

from jobs.errors import TaskError
from mapping.comparison import Summary, differing_buckets, in_buckets
from mapping.items import build_item, from_wire, item_digest, key_of
from mapping.live_verify import key_text as key_values_text


def source_digests(rows: Iterable, spec) -> Iterator[Tuple[str, int]]:
    for row in rows:
        item, _, reason = build_item(row, spec.layout)
        if reason is None:
            yield key_text(item, spec.layout), item_digest(item)


def scan_digests(segment: int, segments: int, spec, client=None) -> Iterator[Tuple[str, int]]:
    from jobs.dynamodb.workers import worker_client

    client = client or worker_client(spec, own_retries=False)
    start = None
    while True:
        kwargs = {"TableName": spec.target, "Segment": segment, "TotalSegments": segments}
        if start:
            kwargs["ExclusiveStartKey"] = start
        try:
            page = client.scan(**kwargs)
        except client.exceptions.ResourceNotFoundException as e:
            raise TaskError(f"DynamoDB table {spec.target} is gone (deleted while the job ran?): {e}") from e
        for raw in page.get("Items", []):
            item = from_wire(raw, spec.layout.numbers)
            if spec.layout.claims(item):
                yield key_text(item, spec.layout), item_digest(item)
        start = page.get("LastEvaluatedKey")
        if not start:
            return


def key_text(item: Dict, layout) -> str:
    """An item's key as verification and repair match it: its key values as JSON text."""
    return key_values_text(key_of(item, layout))


def bucket_summaries(source, target, buckets: int, keyless: bool) -> Tuple[Summary, Summary, Set[int]]:
    """Both sides' (key, digest) RDDs summarised per bucket on the executors (merged in a tree,
    so the driver receives two summaries), and the buckets that differ."""

    def add(summary: Summary, pair) -> Summary:
        summary.add(pair[0], pair[1])
        return summary

    def merge(one: Summary, other: Summary) -> Summary:
        return one.merge(other)

    source_summary = source.treeAggregate(Summary(buckets, keyless), add, merge)
    target_summary = target.treeAggregate(Summary(buckets, keyless), add, merge)
    return source_summary, target_summary, set(differing_buckets(source_summary, target_summary))


def in_differing(pairs, chosen: Set[int], buckets: int, keyless: bool):
    """Only the pairs of the differing buckets: what the key-by-key comparison joins."""
    return pairs.filter(lambda pair: in_buckets(pair[0], chosen, buckets, keyless))


def target_pairs(spark, spec, segments: int):
    return spark.sparkContext.parallelize(range(segments), segments).flatMap(
        lambda segment: scan_digests(segment, segments, spec)
    )


def verify_table(
    spark, frame, spec, segments: int, buckets: int, examples: int = 10, counted: Optional[Callable] = None
) -> Tuple[Dict, Set[int]]:
    """The report's verification of one table, and the buckets that differ (what a repair fixes).
    counted(partition, rows): the source's rows passed through, counted for the progress lines."""
    keyless = spec.layout.row_id
    source_rdd = frame.rdd.mapPartitionsWithIndex(
        lambda index, rows: source_digests(counted(index, rows) if counted else rows, spec)
    )
    target_rdd = target_pairs(spark, spec, segments)
    source, target, differing = bucket_summaries(source_rdd, target_rdd, buckets, keyless)
    result = {
        "source_rows": source.total,
        "dynamodb_items": target.total,
        "source_checksum": f"{source.checksum:016x}",
        "dynamodb_checksum": f"{target.checksum:016x}",
        "match": not differing,
    }
    if differing:
        # Only the buckets that differ, key by key: keys several source rows share, then both
        # sides joined by key.
        result["differing_buckets"] = len(differing)
        source_rdd = in_differing(source_rdd, differing, buckets, keyless)
        target_rdd = in_differing(target_rdd, differing, buckets, keyless)
        shared = (
            source_rdd.map(lambda pair: (pair[0], 1)).reduceByKey(lambda a, b: a + b).filter(lambda pair: pair[1] > 1)
        )
        result["merged_rows"] = shared.map(lambda pair: pair[1] - 1).sum()
        merged = [
            {"key": json.loads(key), "problem": f"{count} source rows have this key: merged into one item"}
            for key, count in shared.take(examples)
        ]
        differences = (
            source_rdd.fullOuterJoin(target_rdd)
            .filter(lambda pair: pair[1][0] != pair[1][1])
            .map(
                lambda pair: {
                    "key": json.loads(pair[0]),
                    "problem": "missing in DynamoDB"
                    if pair[1][1] is None
                    else "not in the source"
                    if pair[1][0] is None
                    else "attributes differ",
                }
            )
            .take(examples)
        )
        merged_keys = {json.dumps(e["key"]) for e in merged}
        result["examples"] = (merged + [d for d in differences if json.dumps(d["key"]) not in merged_keys])[:examples]
    return result, differing
