"""Plain value objects describing the source schema (built from information_schema)."""

from dataclasses import dataclass
from typing import Optional, Tuple

BASE_TABLE = "BASE TABLE"
SYSTEM_VERSIONED = "SYSTEM VERSIONED"  # MariaDB: migrated like a base table, current rows only
MIGRATED_KINDS = (BASE_TABLE, SYSTEM_VERSIONED)


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str  # information_schema DATA_TYPE, lower case: "int", "varchar", ...
    column_type: str  # full COLUMN_TYPE: "int(10) unsigned", "enum('a','b')", ...
    nullable: bool
    position: int
    max_bytes: Optional[int] = None  # CHARACTER_OCTET_LENGTH, None for non-string types
    charset: Optional[str] = None  # CHARACTER_SET_NAME of string columns
    collation: Optional[str] = None  # COLLATION_NAME of string columns: how the server orders them


@dataclass(frozen=True)
class UniqueKey:
    name: str
    columns: Tuple[str, ...]


@dataclass(frozen=True)
class SourceTable:
    database: str
    name: str
    columns: Tuple[Column, ...]
    primary_key: Tuple[str, ...]  # in key order (SEQ_IN_INDEX)
    unique_keys: Tuple[UniqueKey, ...] = ()
    estimated_rows: int = 0
    estimated_bytes: int = 0
    max_row_bytes: int = 0  # AVG_ROW_LENGTH is all MySQL gives; see risks in the plan
    kind: str = BASE_TABLE

    @property
    def identity(self) -> Tuple[str, str]:
        """What identifies a table everywhere: the pair, never joined text ('a.b' + 'c' vs 'a' + 'b.c')."""
        return (self.database, self.name)

    @property
    def qualified_name(self) -> str:
        """For people only (logs, report); two tables can share it."""
        return f"{self.database}.{self.name}"

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.qualified_name} has no column {name!r}")


@dataclass(frozen=True)
class SkippedObject:
    """An object of a selected database that is not migrated (view, sequence, ...), and why."""

    database: str
    name: str
    kind: str
    reason: str

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"


def skip_reason(kind: str) -> str:
    if kind == "VIEW":
        return "a view holds no rows of its own; its base tables are migrated"
    if kind == "SEQUENCE":
        return "a sequence is a generator, not data; recreate it on the application side"
    return f"objects of type {kind!r} are not migrated"
