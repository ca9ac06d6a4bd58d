"""How a table is split into JDBC reads: WHERE predicates, one per Spark partition.

A table is split on the key columns of one index (its primary key, else a unique key) by
half-open ranges of whole key tuples, written in the expanded form
`a > x OR (a = x AND b >= y)` that MySQL and MariaDB both answer with an index range
scan. Boundary values are literals MySQL compares in the column's own type and collation.
A table with no usable index is read once and redistributed in Spark.
"""

import codecs
import datetime
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from mapping.identifiers import quote_identifier
from mapping.schema import Column, SourceTable

Comparison = Callable[[str, str, str], str]  # (expression, operator, literal) -> SQL
Comparisons = Optional[Sequence[Comparison]]

INTEGER_TYPES = frozenset({"tinyint", "smallint", "mediumint", "int", "integer", "bigint"})
EXACT_TYPES = frozenset({"decimal", "numeric"})
APPROXIMATE_TYPES = frozenset({"float", "double", "real"})
DATE_TYPES = frozenset({"date", "datetime", "timestamp"})
STRING_TYPES = frozenset({"char", "varchar"})
BINARY_TYPES = frozenset({"binary", "varbinary"})


def split_alias(position: int) -> str:
    """Name under which the read query exposes the n-th split column."""
    return f"m2d_k{position}"


@dataclass(frozen=True)
class Partitioning:
    strategy: str  # "single": one read; "range": one predicate per partition
    split_columns: Tuple[str, ...]  # quoted columns the read query exposes as m2d_k0, m2d_k1, ...
    predicates: Tuple[str, ...]  # one WHERE clause per partition; empty for "single"
    description: str
    redistribute: bool = False  # a single read spread over the task slots in Spark before the write


def partition_count(
    estimated_rows: int,
    rows_per_partition: int,
    max_partitions: int,
    task_slots: int = 1,
    min_partition_rows: int = 0,
    partitions_per_slot: int = 1,
) -> int:
    """Partitions for a table: 1 when small, else a whole number of waves of task slots.

    A partition holds at most rows_per_partition rows; a table big enough gets at least
    partitions_per_slot partitions per task slot (a slow partition then delays the table by a
    fraction of a wave, and every slot has work), but none smaller than min_partition_rows
    (each is a query and a connection): a table under twice that is one read. A
    rows_per_partition below min_partition_rows lowers the minimum to it.

    Beyond one wave, full waves matter for the write budget: it is split over the tasks
    running at once, so a last partition running alone would use only its share.
    """
    smallest = max(1, min(min_partition_rows or rows_per_partition, rows_per_partition))
    if estimated_rows < 2 * smallest and estimated_rows <= rows_per_partition:
        return 1
    slots = max(1, task_slots)
    wanted = max(
        math.ceil(estimated_rows / rows_per_partition),
        min(partitions_per_slot * slots, estimated_rows // smallest),
    )
    if wanted <= slots:
        return min(max_partitions, wanted)
    waves = max(1, min(max_partitions // slots, math.ceil(wanted / slots)))
    return max(1, min(max_partitions, waves * slots))


def split_kind(column: Column) -> Optional[str]:
    """How boundary values of a column are interpolated and written, or None: no usable order."""
    kind = column.data_type.lower()
    if kind in INTEGER_TYPES or kind == "year":
        return "integer"
    if kind in EXACT_TYPES or kind in APPROXIMATE_TYPES:
        return "number"
    if kind in DATE_TYPES:
        return kind
    if kind == "time":
        return "time"
    if kind in STRING_TYPES and column.charset and column.collation:
        return "string"
    if kind in BINARY_TYPES:
        return "binary"
    if kind == "enum" and column.charset and column.collation:
        return "enum"
    return None


def enum_values(column_type: str) -> List[str]:
    """The members of enum('a','b''c') in declaration order, which is how an ENUM sorts."""
    body = column_type[column_type.index("(") + 1 : column_type.rindex(")")]
    return [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", body)]


def enum_positions(column_type: str) -> List[str]:
    """Each value an ENUM column can hold, in its order: first the error value '' (what a
    non-strict sql_mode stores for a value that is not a member), then the members. A member
    declared as '' prints and compares as the error value does, so it stands for both."""
    members = enum_values(column_type)
    return members if "" in members else ["", *members]


def split_index(table: SourceTable) -> Tuple[Optional[str], Tuple[str, ...], str]:
    """(index name, its columns, why) of the index to split on; (None, (), why not) when none fits.

    Composite keys need NOT NULL columns (the expanded predicates treat NULL as no value);
    a one-column unique key may hold NULLs: they go to the first partition.
    """
    candidates = ([("PRIMARY", table.primary_key)] if table.primary_key else []) + [
        (u.name, u.columns) for u in table.unique_keys
    ]
    if not candidates:
        return None, (), "no primary or unique key"
    reasons = []
    for name, columns in candidates:
        unusable = [c for c in columns if split_kind(table.column(c)) is None]
        if unusable:
            reasons.append(
                f"{'primary key' if name == 'PRIMARY' else 'key ' + name}: {', '.join(unusable)} has no usable order"
            )
            continue
        if len(columns) > 1 and any(table.column(c).nullable for c in columns):
            reasons.append(f"key {name}: nullable columns in a composite key")
            continue
        return name, tuple(columns), ""
    return None, (), "; ".join(reasons)


# ---- literals: values MySQL compares in the column's own type and collation ----

_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_TEMPORAL = re.compile(r"-?[0-9 :.\-]+")
_NAME = re.compile(r"\w+")


def literal(column: Column, value: Any) -> str:
    """A boundary value as SQL. Strings and binary go as hex, so any byte is safe."""
    kind = split_kind(column)
    if kind == "integer":
        return str(int(value))
    if kind == "number":
        text = value if isinstance(value, str) else format(Decimal(value), "f")
        if not _NUMBER.fullmatch(text):
            raise ValueError(f"not a number literal: {text!r}")
        return text
    if kind in DATE_TYPES or kind == "time":
        if not _TEMPORAL.fullmatch(value):
            raise ValueError(f"not a temporal literal: {value!r}")
        return f"'{value}'"
    if kind == "string":
        if not (_NAME.fullmatch(column.charset or "") and _NAME.fullmatch(column.collation or "")):
            raise ValueError(f"unexpected character set or collation {column.charset!r}/{column.collation!r}")
        raw = encode_text(value, column.charset) if isinstance(value, str) else value
        return f"CONVERT(X'{raw.hex()}' USING {column.charset}) COLLATE {column.collation}"
    if kind == "binary":
        return f"X'{bytes(value).hex()}'"
    if kind == "enum":
        return str(enum_positions(column.column_type).index(value))  # its position; see comparison
    raise ValueError(f"column {column.name} has no usable order")


def comparison(column: Column) -> Comparison:
    """How `expression op literal` is written for a column: plain, except for ENUM.

    MariaDB compares an ENUM with a string as text and with a number by position, and
    answers neither inequality from the index; equality and IN lists it does. So for an
    ENUM `e > 2` is written as `e IN (the members after the second)`.
    """
    if split_kind(column) != "enum":
        return lambda expression, op, value: f"{expression} {op} {value}"
    members = enum_positions(column.column_type)
    texts = [
        literal(
            Column(column.name, "varchar", "varchar", False, 0, charset=column.charset, collation=column.collation), m
        )
        for m in members
    ]
    tests: Dict[str, Callable[[int, int], bool]] = {
        "<": lambda i, n: i < n,
        "<=": lambda i, n: i <= n,
        ">": lambda i, n: i > n,
        ">=": lambda i, n: i >= n,
        "=": lambda i, n: i == n,
    }

    def written(expression: str, op: str, value: str) -> str:
        chosen = [t for i, t in enumerate(texts) if tests[op](i, int(value))]
        return f"{expression} IN ({', '.join(chosen)})" if chosen else "0 = 1"

    return written


def python_codec(charset: Optional[str]) -> Optional[str]:
    """The Python codec that reads every value of a character set the way the server does, or
    None: such keys are split as their bytes (ascii is None too: a column in ascii may hold
    any byte a non-strict sql_mode let in)."""
    return {
        "utf8mb4": "utf-8",
        "utf8mb3": "utf-8",
        "utf8": "utf-8",
        "latin1": "cp1252",
        "binary": None,
    }.get((charset or "").lower())


# MySQL's latin1 is cp1252 with the five bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90,
# 0x9D) standing for the control characters of the same number, as in ISO 8859-1.
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


def _mysql_latin1(error: UnicodeError) -> Tuple[Union[str, bytes], int]:
    if isinstance(error, UnicodeDecodeError):
        byte = error.object[error.start]
        if byte in _CP1252_UNDEFINED:
            return chr(byte), error.start + 1
    elif isinstance(error, UnicodeEncodeError):
        point = ord(error.object[error.start])
        if point in _CP1252_UNDEFINED:
            return bytes([point]), error.start + 1
    raise error


codecs.register_error("mysql-latin1", _mysql_latin1)


def decode_text(raw: bytes, charset: Optional[str]) -> Union[str, bytes]:
    """A string column's bytes as text, as the server reads them in its character set."""
    codec = python_codec(charset)
    return raw.decode(codec, errors=_errors(codec)) if codec else raw


def encode_text(value: str, charset: Optional[str]) -> bytes:
    codec = python_codec(charset) or "utf-8"
    return value.encode(codec, errors=_errors(codec))


def _errors(codec: str) -> str:
    return "mysql-latin1" if codec == "cp1252" else "strict"


# ---- predicates in the expanded form ----


def _plain(expression: str, op: str, value: str) -> str:
    return f"{expression} {op} {value}"


def _compare(
    columns: Sequence[str], literals: Sequence[str], last: str, comparisons: Optional[Sequence[Comparison]] = None
) -> str:
    """key <op> tuple, expanded: a OP1 x OR (a = x AND b OP2 y) ... (op strict but the last).

    columns are SQL expressions (quoted names); a shorter tuple compares its prefix only;
    comparisons (one per column, see comparison()) write each `column op value`.
    """
    written: List[Comparison] = list(comparisons or [_plain] * len(columns))
    terms = []
    for i, (column, value) in enumerate(zip(columns, literals)):
        equal = [written[n](c, "=", v) for n, (c, v) in enumerate(zip(columns[:i], literals[:i]))]
        strict = last[0] if i < len(literals) - 1 else last  # '<=' / '>=' only on the last column
        terms.append(" AND ".join(equal + [written[i](column, strict, value)]))
    return " OR ".join(f"({t})" if " AND " in t else t for t in terms)


def key_below(columns: Sequence[str], literals: Sequence[str], comparisons: Comparisons = None) -> str:
    return _compare(columns, literals, "<", comparisons)


def key_at_least(columns: Sequence[str], literals: Sequence[str], comparisons: Comparisons = None) -> str:
    return _compare(columns, literals, ">=", comparisons)


def key_above(columns: Sequence[str], literals: Sequence[str], comparisons: Comparisons = None) -> str:
    return _compare(columns, literals, ">", comparisons)


def range_predicates(
    boundaries: Sequence[Sequence[str]], nullable_first: bool = False, comparisons: Comparisons = None
) -> List[str]:
    """Half-open ranges covering every key tuple exactly once (NULL keys in the first)."""
    if not boundaries:
        return []
    width = max(len(b) for b in boundaries)
    aliases = [quote_identifier(split_alias(i)) for i in range(width)]
    first = key_below(aliases, boundaries[0], comparisons)
    if nullable_first:
        first = f"({first}) OR {aliases[0]} IS NULL"
    predicates = [first]
    for low, high in zip(boundaries, boundaries[1:]):
        predicates.append(f"({key_at_least(aliases, low, comparisons)}) AND ({key_below(aliases, high, comparisons)})")
    predicates.append(key_at_least(aliases, boundaries[-1], comparisons))
    return predicates


def equal_width_boundaries(low: int, high: int, parts: int) -> List[int]:
    """parts-1 inner boundaries splitting [low, high] into equal integer ranges."""
    span = high - low + 1
    if parts <= 1 or span <= 1:
        return []
    parts = min(parts, span)
    return [low + (span * i) // parts for i in range(1, parts)]


# ---- midpoints: a value between two others in the column's order, or None ----

_EPOCH = datetime.datetime(1, 1, 1)


def midpoint(kind: str, low: Any, high: Any, alphabet: Sequence[str] = ()) -> Any:
    """A value strictly between low and high for bisection, or None when there is none to find."""
    if kind == "integer":
        whole = (int(low) + int(high)) // 2
        return whole if int(low) < whole < int(high) else None
    if kind == "enum":  # members by position: alphabet holds them in declaration order
        a, b = alphabet.index(low), alphabet.index(high)
        return alphabet[(a + b) // 2] if b - a > 1 else None
    if kind == "number":
        low_number, high_number = Decimal(low), Decimal(high)
        half = (low_number + high_number) / 2
        return format(half, "f") if low_number < half < high_number else None
    if kind in DATE_TYPES:
        a, b = _micros(low), _micros(high)
        middle = (a + b) // 2
        return _temporal_text(kind, middle) if a < middle < b and middle >= 0 else None
    if kind == "time":
        a, b = _time_micros(low), _time_micros(high)
        middle = (a + b) // 2
        return _time_text(middle) if a < middle < b else None
    if kind == "binary":
        return _bytes_midpoint(bytes(low), bytes(high))
    if kind == "string":
        if isinstance(low, bytes):  # a character set Python has no codec for: its bytes, roughly
            return _bytes_midpoint(low, high)
        return _alphabet_midpoint(low, high, alphabet)
    return None


def _micros(text: str) -> int:
    """Microseconds since 0001-01-01 of a DATE/DATETIME text; zero dates come first."""
    if text.startswith("0000-") or "-00" in text[:10]:
        return -1
    date, _, time = text.partition(" ")
    moment = datetime.datetime.strptime(date, "%Y-%m-%d")
    if time:
        clock, _, fraction = time.partition(".")
        h, m, s = (int(x) for x in clock.split(":"))
        moment += datetime.timedelta(hours=h, minutes=m, seconds=s, microseconds=int((fraction + "000000")[:6]))
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _temporal_text(kind: str, micros: int) -> str:
    moment = _EPOCH + datetime.timedelta(microseconds=micros)
    return moment.strftime("%Y-%m-%d") if kind == "date" else moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _time_micros(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    clock, _, fraction = text.lstrip("-").partition(".")
    h, m, s = (int(x) for x in clock.split(":"))
    return sign * (((h * 60 + m) * 60 + s) * 1_000_000 + int((fraction + "000000")[:6]))


def _time_text(micros: int) -> str:
    sign = "-" if micros < 0 else ""
    seconds, fraction = divmod(abs(micros), 1_000_000)
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}.{fraction:06d}"


def _bytes_midpoint(low: bytes, high: bytes) -> Optional[bytes]:
    width = max(len(low), len(high)) + 1  # one more byte of room between neighbours
    a = int.from_bytes(low.ljust(width, b"\0"), "big")
    b = int.from_bytes(high.ljust(width, b"\0"), "big")
    if b - a < 2:
        return None
    middle = ((a + b) // 2).to_bytes(width, "big").rstrip(b"\0")
    return middle if low < middle < high else None


def _alphabet_midpoint(low: str, high: str, alphabet: Sequence[str]) -> Optional[str]:
    """Midpoint of two strings read as numbers whose digits are the alphabet's groups of
    characters, which the server has sorted (and grouped by equality) in the column's
    collation, so the midpoint sorts between them."""
    if not alphabet:
        return None
    digit = {c: i for i, group in enumerate(alphabet) for c in group}
    base = len(alphabet) + 1  # digit 0: the end of a shorter string
    width = max(len(low), len(high)) + 1

    def number(text: str) -> Optional[int]:
        total = 0
        for position in range(width):
            if position < len(text):
                if text[position] not in digit:
                    return None
                total = total * base + digit[text[position]] + 1
            else:
                total = total * base
        return total

    a, b = number(low), number(high)
    if a is None or b is None or b - a < 2:
        return None
    middle, digits = (a + b) // 2, []
    for _ in range(width):
        middle, d = divmod(middle, base)
        digits.append(d)
    digits.reverse()
    # Digit 0 means "the string ends here": a zero before other digits cannot be written, so
    # the text stops there, or (when that is low itself) goes one character further.
    end = digits.index(0) if 0 in digits else width
    text = "".join(alphabet[d - 1][0] for d in digits[:end])
    for option in (text, text + alphabet[0][0]):
        value = number(option)
        if option and value is not None and a < value < b:
            return option
    return None
