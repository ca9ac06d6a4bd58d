"""How each MySQL column becomes a string: the SQL expression MySQL evaluates for it.

MySQL itself prints every value (CAST ... AS CHAR gives exactly the text protocol's
output: declared decimal scale, fractional seconds, zero dates, negative TIME, FLOAT
and DOUBLE in MySQL's shortest form). Only values with no text form are re-encoded:
binary as base64, BIT as a decimal integer, spatial values as WKT.
"""

from typing import Optional

from mapping.identifiers import quote_identifier
from mapping.schema import Column

TEXT_TYPES = frozenset(
    {
        "tinyint",
        "smallint",
        "mediumint",
        "int",
        "integer",
        "bigint",
        "decimal",
        "numeric",
        "float",
        "double",
        "real",
        "date",
        "datetime",
        "timestamp",
        "time",
        "year",
        "char",
        "varchar",
        "tinytext",
        "text",
        "mediumtext",
        "longtext",
        "enum",
        "set",
        "json",
        "uuid",
        "inet4",
        "inet6",
    }
)
BINARY_TYPES = frozenset({"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"})
BIT_TYPES = frozenset({"bit"})
SPATIAL_TYPES = frozenset(
    {
        "geometry",
        "point",
        "linestring",
        "polygon",
        "multipoint",
        "multilinestring",
        "multipolygon",
        "geometrycollection",
        "geomcollection",
    }
)


class UnsupportedColumnType(ValueError):
    pass


def render_sql(column: Column, table: str = "") -> str:
    """SQL expression that yields the column's value as MySQL prints it, NULL kept NULL."""
    name = quote_identifier(column.name)
    kind = column.data_type.lower()
    if kind in TEXT_TYPES:
        return f"CAST({name} AS CHAR)"
    if kind in BINARY_TYPES:
        # TO_BASE64 breaks lines every 76 characters; DynamoDB users expect one line.
        return f"REPLACE(TO_BASE64({name}), CHAR(10 USING ascii), '')"
    if kind in BIT_TYPES:
        return f"CAST(CAST({name} AS UNSIGNED) AS CHAR)"
    if kind in SPATIAL_TYPES:
        return f"ST_AsText({name})"
    where = f"{table}." if table else ""
    raise UnsupportedColumnType(
        f"column {where}{column.name} has type {column.column_type!r} that mysql2dynamodb cannot "
        f"render; exclude it with tables.<db.table>.exclude_columns"
    )


def parse_sql(column: Column, literal: str) -> str:
    """SQL expression that turns a value's rendered text (an escaped literal) back into the value
    the column holds: the inverse of render_sql, for finding rows by their items' text."""
    kind = column.data_type.lower()
    if kind in BINARY_TYPES:
        return f"FROM_BASE64({literal})"
    if kind in BIT_TYPES:
        return f"CAST({literal} AS UNSIGNED)"
    if kind in SPATIAL_TYPES:
        return f"ST_GeomFromText({literal})"
    return literal


def is_binary(column: Column) -> bool:
    return column.data_type.lower() in BINARY_TYPES


def rendering_note(column: Column) -> Optional[str]:
    """A line for the dry-run plan when a column is not printed as plain MySQL text."""
    kind = column.data_type.lower()
    if kind in BINARY_TYPES:
        return f"{column.name}: {kind} written as base64"
    if kind in BIT_TYPES:
        return f"{column.name}: {column.column_type} written as a decimal integer"
    if kind in SPATIAL_TYPES:
        return f"{column.name}: {kind} written as WKT (ST_AsText)"
    if kind in ("float", "double", "real"):
        return f"{column.name}: {kind} written as MySQL prints it (approximate type)"
    return None
