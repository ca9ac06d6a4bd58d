"""What a table's load costs and how long it takes, by BatchWriteItem or by ImportTable (pure).

Write cost: one write request unit (WRU) per started KB of each item, at the on-demand price,
or the provisioned table's capacity-hours for as long as the write takes. Import cost: the
uncompressed bytes of the staged DynamoDB JSON, at the import price; it consumes no capacity.
Both are measured on items built from a sample of the table's rows, as the load builds them;
the declared types and the engine's average row length stand in only when no row can be read.
"""

import math
from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple

from mapping.items import ItemLayout, build_item, import_line, to_wire, write_units

WRITE = "write"
IMPORT = "import"
AUTO = "auto"
LOAD_MODES = (WRITE, IMPORT, AUTO)

GB = 1024**3
# DynamoDB JSON around each item and each attribute: {"Item":{...}} and "name":{"S":"..."},
LINE_OVERHEAD_BYTES = 12
ATTRIBUTE_OVERHEAD_BYTES = 12


@dataclass(frozen=True)
class Prices:
    on_demand_usd_per_million_writes: float
    provisioned_usd_per_wcu_hour: float
    import_usd_per_gb: float


@dataclass(frozen=True)
class ItemSizes:
    """What an average item weighs: as DynamoDB sizes it, in WRU, and as one staged JSON line.
    WRU are averaged per item, not taken from the average item: rows of 100 B and 2 KB cost
    1 and 2 WRU, 1.5 on average, where an average item of 1,050 B would cost 2."""

    basis: str  # "a sample of N rows" or "the declared types"
    item_bytes: float
    write_units: float
    import_line_bytes: float


@dataclass(frozen=True)
class Estimate:
    items: int
    item_bytes: int  # average item, as DynamoDB sizes it
    write_units: int  # WRU for the whole table: items x the average item's WRU
    import_bytes: int  # uncompressed DynamoDB JSON that ImportTable bills
    write_rate: float  # WCU/s the load is paced at
    write_seconds: float
    write_usd: float
    import_usd: float
    basis: str = ""  # what the item sizes were measured on

    def to_dict(self) -> Dict[str, Any]:
        body = asdict(self)
        for name in ("write_seconds", "write_usd", "import_usd", "write_rate"):
            body[name] = round(body[name], 4)
        return body


def measure_items(rows: Iterable[Sequence[Optional[str]]], layout: ItemLayout) -> Optional[ItemSizes]:
    """Sizes of the items the load would build from these rows (in the layout's order, synthesised
    values included); None for no rows. Rows DynamoDB would refuse are left out, as the load does."""
    count = total_bytes = total_units = total_line = 0
    for row in rows:
        item, size, reason = build_item(row, layout)
        if reason:
            continue
        count += 1
        total_bytes += size
        total_units += write_units(size)
        total_line += len(import_line(to_wire(item, layout.numbers)).encode("utf-8")) + 1  # and its newline
    if not count:
        return None
    return ItemSizes(f"a sample of {count} rows", total_bytes / count, total_units / count, total_line / count)


def declared_sizes(
    attribute_bytes: int, declared_value_bytes: int, average_row_bytes: float, attributes: int
) -> ItemSizes:
    """When no row can be sampled: attribute names plus the source's average row length
    (information_schema's AVG_ROW_LENGTH), never more than the declared maximum."""
    values = declared_value_bytes if average_row_bytes <= 0 else min(declared_value_bytes, average_row_bytes)
    item_bytes = max(1, int(math.ceil(attribute_bytes + values)))
    line = item_bytes + LINE_OVERHEAD_BYTES + ATTRIBUTE_OVERHEAD_BYTES * attributes
    return ItemSizes("the declared types", item_bytes, write_units(item_bytes), line)


def estimate(
    items: int,
    sizes: ItemSizes,
    write_rate: float,
    prices: Prices,
    provisioned_wcu: Optional[int] = None,
) -> Estimate:
    units = int(math.ceil(items * sizes.write_units - 1e-9))
    seconds = units / write_rate if write_rate > 0 else 0.0
    if provisioned_wcu:
        write_usd = provisioned_wcu * prices.provisioned_usd_per_wcu_hour * seconds / 3600
    else:
        write_usd = units / 1e6 * prices.on_demand_usd_per_million_writes
    import_bytes = int(math.ceil(items * sizes.import_line_bytes))
    return Estimate(
        items,
        int(math.ceil(sizes.item_bytes)),
        units,
        import_bytes,
        write_rate,
        seconds,
        write_usd,
        import_bytes / GB * prices.import_usd_per_gb,
        sizes.basis,
    )


def choose_load_mode(
    setting: str, table_exists: bool, plan_estimate: Estimate, min_saving: float, min_rows: int
) -> Tuple[str, str]:
    """The mode for one table and why. In auto, ImportTable only creates tables, so an existing
    table is written; import must save min_saving times its cost, and the table must not be small
    (an import takes minutes of fixed time whatever its size). In import, an existing table is the
    caller's to refuse or resume."""
    if setting == WRITE:
        return WRITE, "load_mode write"
    if setting == IMPORT:
        return IMPORT, "load_mode import"
    if table_exists:
        return WRITE, "the DynamoDB table exists and ImportTable only creates tables"
    if plan_estimate.items < min_rows:
        return WRITE, f"{plan_estimate.items} estimated rows, under dynamodb.import_min_rows ({min_rows})"
    if plan_estimate.import_usd * min_saving > plan_estimate.write_usd:
        return WRITE, (
            f"import (${plan_estimate.import_usd:.4f}) saves less than dynamodb.import_min_saving "
            f"({min_saving:g}x) over writes (${plan_estimate.write_usd:.4f})"
        )
    return IMPORT, (
        f"import (${plan_estimate.import_usd:.4f}) costs at most 1/{min_saving:g} of writes "
        f"(${plan_estimate.write_usd:.4f})"
    )
