"""How a table is split into JDBC reads: WHERE predicates, one per Spark partition.

Predicates refer to one column the read query exposes as PARTITION_ALIAS: the raw key
column for range splits (MySQL merges the derived table, so the predicate becomes an
index range scan), or a hash bucket for tables without an integer key.
"""
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence

from mapping.identifiers import quote_identifier
from mapping.schema import SourceTable

PARTITION_ALIAS = "m2d_part"
INTEGER_TYPES = frozenset({"tinyint", "smallint", "mediumint", "int", "integer", "bigint"})


@dataclass(frozen=True)
class Partitioning:
    strategy: str  # "single", "range", "hash"
    column_sql: Optional[str]  # expression exposed as PARTITION_ALIAS in the read query
    predicates: tuple  # one WHERE clause per partition; empty for "single"
    description: str


def partition_count(estimated_rows: int, rows_per_partition: int, max_partitions: int, task_slots: int = 1) -> int:
    """Partitions for a table: 1 when small, else a whole number of waves of task slots.

    Full waves matter for the write budget: it is split over the tasks running at once,
    so a last partition running alone would use only its share.
    """
    if estimated_rows <= rows_per_partition:
        return 1
    wanted = math.ceil(estimated_rows / rows_per_partition)
    slots = max(1, task_slots)
    waves = max(1, min(max_partitions // slots, math.ceil(wanted / slots)))
    return max(1, min(max_partitions, waves * slots))


def integer_split_column(table: SourceTable, key_columns: Sequence[str]) -> Optional[str]:
    """First NOT NULL integer column of the key, else of the primary key or a unique key."""
    candidates = list(key_columns) + list(table.primary_key)
    for unique in table.unique_keys:
        candidates.extend(unique.columns)
    for name in candidates:
        column = table.column(name)
        if column.data_type.lower() in INTEGER_TYPES and not column.nullable:
            return name
    return None


def equal_width_boundaries(low: int, high: int, parts: int) -> List[int]:
    """parts-1 inner boundaries splitting [low, high] into equal integer ranges."""
    span = high - low + 1
    if parts <= 1 or span <= 1:
        return []
    parts = min(parts, span)
    return [low + (span * i) // parts for i in range(1, parts)]


def quantile_boundaries(sorted_sample: Sequence[int], parts: int) -> List[int]:
    """Inner boundaries at the sample's quantiles, without repeats (skew-proof splits)."""
    if parts <= 1 or not sorted_sample:
        return []
    picked = []
    for i in range(1, parts):
        value = sorted_sample[min(len(sorted_sample) - 1, (len(sorted_sample) * i) // parts)]
        if not picked or value > picked[-1]:
            picked.append(value)
    if picked and picked[0] <= sorted_sample[0]:
        picked = picked[1:]
    return picked


def range_predicates(boundaries: Sequence[int]) -> List[str]:
    """Half-open ranges covering every value, NULL included in the first."""
    p = quote_identifier(PARTITION_ALIAS)
    if not boundaries:
        return []
    predicates = [f"{p} < {int(boundaries[0])} OR {p} IS NULL"]
    for low, high in zip(boundaries, boundaries[1:]):
        predicates.append(f"{p} >= {int(low)} AND {p} < {int(high)}")
    predicates.append(f"{p} >= {int(boundaries[-1])}")
    return predicates


def hash_bucket_sql(columns: Sequence[str], buckets: int) -> str:
    parts = ", ".join(f"IFNULL(CAST({quote_identifier(c)} AS CHAR), '')" for c in columns)
    return f"MOD(CRC32(CONCAT_WS(CHAR(31 USING ascii), {parts})), {int(buckets)})"


def hash_predicates(buckets: int) -> List[str]:
    p = quote_identifier(PARTITION_ALIAS)
    return [f"{p} = {i}" for i in range(buckets)]
