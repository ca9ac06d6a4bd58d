"""How a MySQL table's identity becomes a DynamoDB key schema, without losing rows.

- 1 key column: HASH. 2 columns: HASH + RANGE in key order.
- 3+ columns: HASH = first column; RANGE = a synthesised attribute that encodes the
  remaining values unambiguously (see encode_composite).
- No primary key: the first UNIQUE key whose columns are all NOT NULL, same rules;
  otherwise a synthesised HASH from the row's content plus a duplicate ordinal.
- A modelled table (the conf's `model`): HASH and RANGE rendered from templates of the row's
  columns (modelled_key), which use every column of the row's own key.
"""

from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Optional, Sequence, Tuple

from mapping.schema import SourceTable
from mapping.templates import Template, read_key, render

SEPARATOR = "#"
ESCAPE = "\\"


@dataclass(frozen=True)
class KeySchema:
    hash_attribute: str
    range_attribute: Optional[str]
    hash_column: Optional[str]  # None when the hash is a synthesised row id
    range_columns: Tuple[str, ...]  # 0, 1 (plain RANGE) or 2+ (synthesised RANGE)
    origin: str  # human description: "primary key", "unique key `email`", ...
    templates: Tuple[Template, ...] = ()  # a modelled table: HASH's template, then RANGE's
    row_key: Tuple[str, ...] = ()  # a modelled table: the row's own key columns (the templates use them)

    @property
    def synthesized_hash(self) -> bool:
        return self.hash_column is None

    @property
    def synthesized_range(self) -> bool:
        return len(self.range_columns) > 1 and not self.templates

    @property
    def lookup_columns(self) -> Tuple[str, ...]:
        """The columns that find an item's row in the source: the key's own columns, or for a
        modelled table the row's key (its template columns hold it)."""
        return self.row_key or self.source_columns

    @property
    def source_columns(self) -> Tuple[str, ...]:
        head = () if self.hash_column is None else (self.hash_column,)
        return head + self.range_columns

    def describe(self) -> str:
        def side(attribute: str, columns: Sequence[str], synthesized: bool) -> str:
            if synthesized:
                return f"{attribute}<-({', '.join(columns) or 'row content'})"
            return attribute

        if self.templates:
            shown = [f"HASH {self.hash_attribute} = {self.templates[0].text!r}"]
            if self.range_attribute:
                shown.append(f"RANGE {self.range_attribute} = {self.templates[1].text!r}")
            return f"{', '.join(shown)} [{self.origin}]"
        text = "HASH " + side(self.hash_attribute, [], self.synthesized_hash)
        if self.range_attribute:
            text += ", RANGE " + side(self.range_attribute, self.range_columns, self.synthesized_range)
        return f"{text} [{self.origin}]"


class KeyChoiceError(ValueError):
    pass


APPROXIMATE_TYPES = frozenset({"float", "double", "real"})
# Character sets every stored value of which has its own Unicode text (MySQL's latin1 maps all
# 256 bytes). In the others, bytes without a character print as '?' when rendered as UTF-8,
# so greek X'41AE', X'41D2' and 'A?' all print 'A?'.
TOTAL_CHARSETS = frozenset({"utf8mb4", "utf8mb3", "utf8", "utf16", "utf16le", "utf32", "ucs2", "latin1", "binary"})


def collision_risk(table: SourceTable, key: KeySchema) -> Optional[str]:
    """Why two different source rows could get the same key text (merging into one item), or None.

    MySQL prints FLOAT/DOUBLE in a short form (1.0000001 and 1.0000002 as FLOAT both print
    '1'), and key columns that are not a unique index of the source need not be unique at all.
    """
    if key.synthesized_hash:
        return None
    approximate = [c for c in key.source_columns if table.column(c).data_type.lower() in APPROXIMATE_TYPES]
    if approximate:
        return (
            f"key column(s) {', '.join(approximate)} are approximate (FLOAT/DOUBLE): different values "
            f"can print as the same text and merge into one item"
        )
    lossy = [
        c
        for c in key.source_columns
        if table.column(c).charset and table.column(c).charset.lower() not in TOTAL_CHARSETS  # type: ignore[union-attr]
    ]
    if lossy:
        charsets = ", ".join(sorted({str(table.column(c).charset) for c in lossy}))
        return (
            f"key column(s) {', '.join(lossy)} are in character set {charsets}, whose bytes without a Unicode "
            f"character print as '?': different values can print as the same text and merge into one item"
        )
    unique_indexes = [table.primary_key] + [u.columns for u in table.unique_keys]
    if not any(index and set(index) <= set(key.source_columns) for index in unique_indexes):
        return (
            f"key column(s) {', '.join(key.source_columns)} are not a unique index of the source: "
            f"rows sharing a key merge into one item"
        )
    return None


def choose_key(
    table: SourceTable,
    attribute_of: Callable[[str], str],  # column name -> attribute name (after renames)
    composite_range_attribute: str,
    row_id_attribute: str,
    override: Optional[Sequence[str]] = None,
) -> KeySchema:
    """Pick the key columns for a table and name the DynamoDB key attributes."""
    columns, origin = _key_columns(table, override)
    if not columns:
        _check_free(table, attribute_of, row_id_attribute)
        return KeySchema(row_id_attribute, None, None, (), "no usable key: row content hash")
    hash_column, rest = columns[0], tuple(columns[1:])
    if len(rest) == 0:
        range_attribute = None
    elif len(rest) == 1:
        range_attribute = attribute_of(rest[0])
    else:
        _check_free(table, attribute_of, composite_range_attribute)
        range_attribute = composite_range_attribute
    return KeySchema(attribute_of(hash_column), range_attribute, hash_column, rest, origin)


def row_key_columns(table: SourceTable) -> Tuple[str, ...]:
    """The columns that name one row: the primary key, else the first NOT NULL unique key; ()."""
    return _key_columns(table, None)[0]


def modelled_key(
    table: SourceTable, hash_attribute: str, range_attribute: Optional[str], templates: Sequence[Template]
) -> KeySchema:
    """A modelled table's key: its templates' columns, in order, stand where key columns stand
    (what catch-up stages for a changed row); the row's own key finds its row again."""
    columns = tuple(dict.fromkeys(c for template in templates for c in template.columns))
    row_key = row_key_columns(table)
    return KeySchema(
        hash_attribute, range_attribute, columns[0], columns[1:], "model templates", tuple(templates), row_key
    )


def _key_columns(table: SourceTable, override: Optional[Sequence[str]]) -> Tuple[Tuple[str, ...], str]:
    known = {c.name for c in table.columns}
    if override:
        missing = [c for c in override if c not in known]
        if missing:
            raise KeyChoiceError(
                f"{table.qualified_name}: key override names unknown column(s) {missing}; columns are {sorted(known)}"
            )
        return tuple(override), "config override"
    if table.primary_key:
        return table.primary_key, "primary key"
    for unique in table.unique_keys:
        if all(not table.column(c).nullable for c in unique.columns):
            return unique.columns, f"unique key `{unique.name}`"
    return (), ""


def _check_free(table: SourceTable, attribute_of: Callable[[str], str], synthesized: str) -> None:
    taken = {attribute_of(c.name) for c in table.columns}
    if synthesized in taken:
        raise KeyChoiceError(
            f"{table.qualified_name}: column {synthesized!r} clashes with the synthesised key "
            f"attribute; rename it in the conf 'tables' section or change the keys settings"
        )


def escape_component(value: str) -> str:
    return value.replace(ESCAPE, ESCAPE + ESCAPE).replace(SEPARATOR, ESCAPE + SEPARATOR)


def encode_composite(values: Iterable[str]) -> str:
    """Join key values with '#', escaping '\\' and '#', so distinct tuples never collide."""
    return SEPARATOR.join(escape_component(v) for v in values)


def decode_composite(text: str) -> Tuple[str, ...]:
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == ESCAPE:
            escaped = True
        elif char == SEPARATOR:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return tuple(parts)


def row_digest(values: Iterable[Optional[str]]) -> str:
    """SHA-256 (hex) of a row's rendered values: each value tagged 'v' + escaped text, NULL 'n',
    joined with '#'. The same rule as jobs.transforms.with_row_id, in Python (catch-up)."""
    import hashlib

    parts = ["n" if v is None else "v" + escape_component(v) for v in values]
    return hashlib.sha256(SEPARATOR.join(parts).encode("utf-8")).hexdigest()


def row_id(digest: str, ordinal: int) -> str:
    """The n-th of identical rows: the digest, then '<digest>#2', '<digest>#3', ..."""
    return digest if ordinal == 1 else f"{digest}{SEPARATOR}{ordinal}"


def key_column_values(item_key: Sequence[Optional[str]], key: KeySchema) -> Optional[Tuple[str, ...]]:
    """The source key columns' text behind an item key (HASH, then RANGE), or None when the
    item key does not name one row (a synthesised row id, or a RANGE missing a part)."""
    if key.synthesized_hash or not item_key or item_key[0] is None:
        return None
    if key.templates:
        return _read_templates(item_key, key)
    head = (item_key[0],)
    if not key.range_columns:
        return head
    if len(item_key) < 2 or item_key[1] is None:
        return None
    rest = decode_composite(item_key[1]) if key.synthesized_range else (item_key[1],)
    return head + rest if len(rest) == len(key.range_columns) else None


def _read_templates(item_key: Sequence[Optional[str]], key: KeySchema) -> Optional[Tuple[str, ...]]:
    values: Dict[str, str] = {}
    for template, text in zip(key.templates, item_key):
        read = read_key(template, text) if text is not None else None
        if read is None or any(values.get(c, v) != v for c, v in read.items()):
            return None
        values.update(read)
    if len(item_key) < len(key.templates):
        return None
    return tuple(values[c] for c in key.source_columns)


def item_key_of(values: Sequence[Optional[str]], key: KeySchema) -> Optional[Tuple[Optional[str], ...]]:
    """The item key a row with these key column values (rendered, in source_columns' order) has;
    None when a template refuses them (a NULL, a value its padding cannot hold)."""
    if key.templates:
        row = dict(zip(key.source_columns, values))
        rendered = [render(template, row)[0] for template in key.templates]
        return None if any(v is None for v in rendered) else tuple(rendered)
    if not key.range_attribute:
        return (values[0],)
    if key.synthesized_range:
        return (values[0], encode_composite(values[1:]))  # type: ignore[arg-type]
    return (values[0], values[1])
