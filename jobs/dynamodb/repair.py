"""--repair: make a DynamoDB table equal to the source from verification's comparison (per
bucket of keys, then key by key in the buckets that differ).

Both sides are keyed the way verification keys them: the source through the same read and
item building as the load, DynamoDB through a parallel Scan. Items whose keys the source
does not hold are deleted; rows whose item is missing or differs are put. Writes go from the
executors through the load's BatchWriter and write budget.
"""

import json
from typing import Dict, Iterable, Iterator, Optional, Set, Tuple

from jobs.dynamodb.verify import in_differing, key_text, target_pairs
from mapping.items import build_item, item_digest, to_wire, write_units

PUT, DELETE = "put", "delete"
SourceEntry = Tuple[int, Dict, int]  # digest, item, size


def source_entries(rows: Iterable, spec) -> Iterator[Tuple[str, SourceEntry]]:
    for row in rows:
        item, size, reason = build_item(row, spec.layout)
        if reason is None:  # a rejected row has no item to put: the load counted it
            yield key_text(item, spec.layout), (item_digest(item), item, size)


def fix_for(source: Optional[SourceEntry], target_digest: Optional[int]) -> Optional[str]:
    """What makes one key equal: nothing, a put of the source's item, or a delete."""
    if source is None:
        return DELETE
    if target_digest is None or source[0] != target_digest:
        return PUT
    return None


def apply_fixes(pairs: Iterable, spec, client=None) -> Iterator[Dict[str, int]]:
    """One task's share of the fixes; yields the counts it wrote."""
    from jobs.dynamodb.workers import worker_writer

    writer = worker_writer(spec, client)
    with writer:
        for key, (source, target_digest) in pairs:
            fix = fix_for(source, target_digest)
            if fix == PUT:
                _, item, size = source
                writer.put(to_wire(item, spec.layout.numbers), size, write_units(size))
            elif fix == DELETE:
                values = json.loads(key)
                writer.delete({a: {"S": v} for a, v in zip(spec.layout.item_key, values)})
    yield {"put": writer.written, "deleted": writer.deleted}


def repair_table(spark, frame, spec, segments: int, buckets: int, chosen: Set[int]) -> Dict[str, int]:
    """Put what is missing or different, delete what the source does not hold; the counts.
    Compared key by key in the buckets a verification found differing (`chosen`); what changed
    elsewhere since, the verification after the repair finds."""
    if not chosen:
        return {"put": 0, "deleted": 0}
    keyless = spec.layout.row_id
    source = in_differing(frame.rdd.mapPartitions(lambda rows: source_entries(rows, spec)), chosen, buckets, keyless)
    target = in_differing(target_pairs(spark, spec, segments), chosen, buckets, keyless)
    differing = source.fullOuterJoin(target).filter(lambda pair: fix_for(*pair[1]) is not None)
    counts = differing.mapPartitions(lambda pairs: apply_fixes(pairs, spec)).collect()
    return {"put": sum(c["put"] for c in counts), "deleted": sum(c["deleted"] for c in counts)}
