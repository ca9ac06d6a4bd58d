"""Verification: source rows vs DynamoDB items, by count and order-independent checksum.

Both sides are computed in Spark: the source through the same read and item building as
the load (rejected rows excluded), DynamoDB through a parallel Scan, one segment per task.
"""

import json
from typing import Dict, Iterable, Iterator, List, Tuple

from jobs.errors import TaskError
from mapping.items import CHECKSUM_MODULUS, build_item, from_wire, item_digest, key_of
from mapping.live_verify import key_text as key_values_text


def source_digests(rows: Iterable, spec) -> Iterator[Tuple[str, int]]:
    for row in rows:
        item, _, reason = build_item(row, spec.layout)
        if reason is None:
            yield key_text(item, spec.layout), item_digest(item)


def scan_digests(segment: int, segments: int, spec, client=None) -> Iterator[Tuple[str, int]]:
    from jobs.dynamodb.tables import make_client

    client = client or make_client(spec.endpoint.url, spec.endpoint.region)
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
            item = from_wire(raw)
            yield key_text(item, spec.layout), item_digest(item)
        start = page.get("LastEvaluatedKey")
        if not start:
            return


def key_text(item: Dict, layout) -> str:
    """An item's key as verification and repair match it: its key values as JSON text."""
    return key_values_text(key_of(item, layout))


def summarize(pairs: Iterable[Tuple[str, int]]) -> Iterator[Tuple[int, int]]:
    count, total = 0, 0
    for _, digest in pairs:
        count += 1
        total = (total + digest) % CHECKSUM_MODULUS
    yield count, total


def combine(parts: List[Tuple[int, int]]) -> Tuple[int, int]:
    return sum(p[0] for p in parts), sum(p[1] for p in parts) % CHECKSUM_MODULUS


def verify_table(spark, frame, spec, segments: int, examples: int = 10) -> Dict:
    source_rdd = frame.rdd.mapPartitions(lambda rows: source_digests(rows, spec))
    target_rdd = spark.sparkContext.parallelize(range(segments), segments).flatMap(
        lambda segment: scan_digests(segment, segments, spec)
    )
    source_count, source_sum = combine(source_rdd.mapPartitions(summarize).collect())
    target_count, target_sum = combine(target_rdd.mapPartitions(summarize).collect())
    result = {
        "source_rows": source_count,
        "dynamodb_items": target_count,
        "source_checksum": f"{source_sum:016x}",
        "dynamodb_checksum": f"{target_sum:016x}",
        "match": source_count == target_count and source_sum == target_sum,
    }
    if not result["match"]:
        # Only on a mismatch: keys several source rows share, then both sides joined by key.
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
    return result
