"""DynamoDB item limits and costs, for items whose attributes are strings (and, in a modelled
table, the numbers the model names)."""

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Collection, Dict, Mapping, Optional, Sequence, Tuple

from mapping.model import ItemModel, dynamodb_number, model_attributes

PlainItem = Dict[str, Optional[str]]  # attribute -> text (None: NULL kept as NULL)
WireItem = Dict[str, Dict[str, Any]]  # attribute -> {"S": text} or {"NULL": True}, as BatchWriteItem sends

MAX_ITEM_BYTES = 400 * 1024
MAX_HASH_KEY_BYTES = 2048
MAX_RANGE_KEY_BYTES = 1024
WRITE_UNIT_BYTES = 1024


def utf8_len(text: str) -> int:
    # str.isascii reads a flag CPython keeps on every string: no pass over the text
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def item_size(item: Mapping[str, Optional[str]]) -> int:
    """Bytes DynamoDB counts: attribute name + value; a NULL attribute costs its name + 1."""
    total = 0
    for name, value in item.items():
        total += len(name) if name.isascii() else len(name.encode("utf-8"))
        if value is None:
            total += 1
        else:
            total += len(value) if value.isascii() else len(value.encode("utf-8"))
    return total


def write_units(size_bytes: int) -> int:
    return max(1, math.ceil(size_bytes / WRITE_UNIT_BYTES))


def reject_reason(
    item: Mapping[str, Optional[str]], size_bytes: int, hash_attribute: str, range_attribute: Optional[str]
) -> Optional[str]:
    """Why DynamoDB would refuse this item, or None if it can be written."""
    for attribute, limit, role in (
        (hash_attribute, MAX_HASH_KEY_BYTES, "HASH"),
        (range_attribute, MAX_RANGE_KEY_BYTES, "RANGE"),
    ):
        if attribute is None:
            continue
        value = item.get(attribute)
        if value is None:
            return f"{role} key attribute {attribute!r} is NULL"
        if value == "":
            return f"{role} key attribute {attribute!r} is an empty string"
        if utf8_len(value) > limit:
            return f"{role} key attribute {attribute!r} is {utf8_len(value)} bytes, over the {limit}-byte limit"
    if size_bytes > MAX_ITEM_BYTES:
        return f"item is {size_bytes} bytes, over DynamoDB's {MAX_ITEM_BYTES}-byte limit"
    return None


def plain_item(values: Sequence[Optional[str]], attributes: Sequence[str], null_as: str = "absent") -> PlainItem:
    """attribute -> string (or None for NULL when null_as == 'null'); NULLs dropped otherwise."""
    item: PlainItem = {}
    for attribute, value in zip(attributes, values):
        if value is not None or null_as == "null":
            item[attribute] = value
    return item


def to_wire(item: Mapping[str, Optional[str]], numbers: Collection[str] = ()) -> WireItem:
    """DynamoDB's typed form: every value a string (S), or a number (N) for the attributes a
    model names; NULL as {"NULL": true}."""
    if numbers:
        return {
            name: ({"NULL": True} if value is None else {"N" if name in numbers else "S": value})
            for name, value in item.items()
        }
    return {name: ({"NULL": True} if value is None else {"S": value}) for name, value in item.items()}


def item_digest(item: Mapping[str, Optional[str]]) -> int:
    """64-bit digest of an item's attributes, independent of attribute order. Each name and
    value is written with its length first (NULL as '~'), so no two items share a text;
    computed for every item of both sides of a comparison, so kept cheap."""
    parts = []
    for name in sorted(item):
        value = item[name]
        parts.append(f"{len(name)}:{name}~" if value is None else f"{len(name)}:{name}{len(value)}:{value}")
    return int.from_bytes(hashlib.blake2b("".join(parts).encode("utf-8"), digest_size=8).digest(), "big")


CHECKSUM_MODULUS = 2**64


NOT_A_STRING = "\x00not a string: "


def from_wire(item: Mapping[str, Mapping[str, Any]], numbers: Collection[str] = ()) -> PlainItem:
    """Back from DynamoDB's typed form to attribute -> string (None for NULL). The job writes
    strings, and numbers where a model names them (read back in the form mapping.model gives
    them); any other type (an item edited by hand) becomes a text no source value has, so
    verification counts it as a difference, and repair replaces it."""
    if numbers:
        return {name: (_number(value) if name in numbers else _plain(value)) for name, value in item.items()}
    return {name: _plain(value) for name, value in item.items()}


def _number(value: Mapping[str, Any]) -> Optional[str]:
    if "N" in value:
        number, _ = dynamodb_number(str(value["N"]))
        if number is not None:
            return number
    if "NULL" in value:
        return None
    return NOT_A_STRING + json.dumps(value, sort_keys=True, default=str)


def _plain(value: Mapping[str, Any]) -> Optional[str]:
    if "S" in value:
        return str(value["S"])
    if "NULL" in value:
        return None
    return NOT_A_STRING + json.dumps(value, sort_keys=True, default=str)


@dataclass(frozen=True)
class ItemLayout:
    """How a rendered row becomes an item: plain values, shipped to the executors."""

    attributes: Tuple[str, ...]  # attribute of each value of a row, in order
    hash_attribute: str
    range_attribute: Optional[str]
    key_attributes: Tuple[str, ...]  # the source key's attributes, shown in reject records
    null_as: str = "absent"
    row_id: bool = False  # HASH is a synthesised row-content id ('<sha256>#<n>' for duplicates)
    model: Optional[ItemModel] = None  # a modelled table: keys from templates, numbers, its source named

    @property
    def item_key(self) -> Tuple[str, ...]:
        return (self.hash_attribute,) + ((self.range_attribute,) if self.range_attribute else ())

    @property
    def numbers(self) -> Tuple[str, ...]:
        return self.model.numbers if self.model else ()

    def claims(self, item: Mapping[str, Optional[str]]) -> bool:
        """Whether a target item is this table's to compare (in a shared target, by the source
        table its items name)."""
        return self.model is None or self.model.claims(item.get(self.model.table_attribute))


def build_item(row: Sequence[Optional[str]], layout: ItemLayout) -> Tuple[PlainItem, int, Optional[str]]:
    """A row as an item, its size in bytes, and why DynamoDB would refuse it (or None).

    The load, verification's source side and every later path go through here, so they agree.
    """
    item = plain_item(row, layout.attributes, layout.null_as)
    modelled = None
    if layout.model is not None:
        modelled = model_attributes(item, dict(zip(layout.attributes, row)), layout.model)
    size = item_size(item)
    return item, size, modelled or reject_reason(item, size, layout.hash_attribute, layout.range_attribute)


def key_of(item: Mapping[str, Optional[str]], layout: ItemLayout) -> Tuple[Optional[str], ...]:
    return tuple(item.get(a) for a in layout.item_key)


def reject_record(
    database: str, table: str, item: Mapping[str, Optional[str]], layout: ItemLayout, reason: str, size_bytes: int
) -> Dict[str, Any]:
    """The rejects line for a row DynamoDB cannot hold (the load and the catch-up write the same)."""
    return {
        "database": database,
        "table": table,
        "key": {a: item.get(a) for a in layout.key_attributes},
        "reason": reason,
        "item_bytes": size_bytes,
    }


def import_line(wire_item: Mapping[str, Mapping[str, Any]]) -> str:
    """One line of DynamoDB JSON as ImportTable reads it: {"Item": {attribute: {"S": ...}}}.

    Takes the item in the typed form BatchWriteItem sends (to_wire), so both paths put the
    same item. Non-ASCII text stays UTF-8: ImportTable reads UTF-8 and bills uncompressed bytes.
    """
    import json

    return json.dumps({"Item": wire_item}, ensure_ascii=False, separators=(",", ":"))
