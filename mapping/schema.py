"""Plain value objects describing the source schema (built from information_schema)."""
from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str  # information_schema DATA_TYPE, lower case: "int", "varchar", ...
    column_type: str  # full COLUMN_TYPE: "int(10) unsigned", "enum('a','b')", ...
    nullable: bool
    position: int
    max_bytes: Optional[int] = None  # CHARACTER_OCTET_LENGTH, None for non-string types

    @property
    def unsigned(self) -> bool:
        return "unsigned" in self.column_type.lower()


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

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}"

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.qualified_name} has no column {name!r}")
