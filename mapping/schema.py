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


CASCADING_RULES = frozenset({"CASCADE", "SET NULL", "SET DEFAULT"})


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key of the table that holds it (the child) into its parent. The server applies
    its cascading actions itself and logs no row events for them."""

    name: str
    columns: Tuple[str, ...]  # the child's columns, in the key's order
    parent: Tuple[str, str]  # (database, table)
    parent_columns: Tuple[str, ...]
    on_delete: str = "RESTRICT"  # information_schema's DELETE_RULE: CASCADE, SET NULL, RESTRICT, ...
    on_update: str = "RESTRICT"

    @property
    def cascades(self) -> bool:
        """A change of a parent row can change child rows without a row event of their own."""
        return self.on_delete in CASCADING_RULES or self.on_update in CASCADING_RULES

    def describe(self) -> str:
        parent = ".".join(self.parent)
        return (
            f"foreign key {self.name} ({', '.join(self.columns)}) -> {parent} ({', '.join(self.parent_columns)}) "
            f"ON DELETE {self.on_delete} ON UPDATE {self.on_update}"
        )


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
    foreign_keys: Tuple[ForeignKey, ...] = ()

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
