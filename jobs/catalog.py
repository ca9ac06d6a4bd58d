"""Reading the source schema from information_schema with pymysql (driver side only)."""
import fnmatch
from collections import defaultdict
from typing import Dict, List, Sequence

from jobs.errors import SourceError
from mapping.schema import Column, SourceTable, UniqueKey

SYSTEM_SCHEMAS = ("mysql", "sys", "performance_schema", "information_schema")


def list_databases(conn, patterns: Sequence[str]) -> List[str]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
            "WHERE SCHEMA_NAME NOT IN (%s, %s, %s, %s) ORDER BY SCHEMA_NAME",
            SYSTEM_SCHEMAS,
        )
        available = [row[0] for row in cur.fetchall()]
    chosen: List[str] = []
    for pattern in patterns:
        if pattern.lower() in SYSTEM_SCHEMAS:
            raise SourceError(f"database {pattern!r} is a system schema and is never migrated")
        matches = [name for name in available if fnmatch.fnmatchcase(name, pattern)]
        if not matches:
            raise SourceError(
                f"unknown database {pattern!r} on the MySQL server "
                f"(user databases: {', '.join(available) or 'none'})"
            )
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def read_tables(conn, database: str) -> List[SourceTable]:
    """Every BASE TABLE of one database with columns, keys and size estimates."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME, COALESCE(TABLE_ROWS, 0), COALESCE(DATA_LENGTH, 0), "
            "COALESCE(AVG_ROW_LENGTH, 0) FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            (database,),
        )
        sizes = {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in cur.fetchall()}
        cur.execute(
            "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, ORDINAL_POSITION, "
            "CHARACTER_OCTET_LENGTH FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (database,),
        )
        columns: Dict[str, List[Column]] = defaultdict(list)
        for table, name, data_type, column_type, nullable, position, octets in cur.fetchall():
            columns[table].append(Column(
                name=name, data_type=str(data_type).lower(), column_type=str(column_type),
                nullable=(nullable == "YES"), position=int(position),
                max_bytes=None if octets is None else int(octets),
            ))
        cur.execute(
            "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = %s AND NON_UNIQUE = 0 ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            (database,),
        )
        indexes: Dict[str, Dict[str, List[str]]] = defaultdict(lambda: defaultdict(list))
        for table, index, column in cur.fetchall():
            indexes[table][index].append(column)
    tables = []
    for table, (rows, data_bytes, avg_row) in sizes.items():
        table_indexes = indexes.get(table, {})
        tables.append(SourceTable(
            database=database,
            name=table,
            columns=tuple(columns[table]),
            primary_key=tuple(table_indexes.get("PRIMARY", ())),
            unique_keys=tuple(
                UniqueKey(name, tuple(cols)) for name, cols in sorted(table_indexes.items()) if name != "PRIMARY"
            ),
            estimated_rows=rows,
            estimated_bytes=data_bytes,
            max_row_bytes=_max_row_bytes(columns[table]),
        ))
    return tables


def _max_row_bytes(columns: Sequence[Column]) -> int:
    """Upper bound of a row's rendered size from declared lengths (strings only)."""
    total = 0
    for column in columns:
        total += len(column.name.encode("utf-8"))
        total += column.max_bytes if column.max_bytes is not None else 64
    return total


def source_position(conn) -> Dict[str, object]:
    """Binlog file/position and GTID before the first read: where a CDC step can start."""
    position: Dict[str, object] = {}
    with conn.cursor() as cur:
        try:
            cur.execute("SHOW MASTER STATUS")
            row = cur.fetchone()
            if row:
                position["binlog_file"], position["binlog_position"] = row[0], int(row[1])
        except Exception as e:  # noqa: BLE001 - needs REPLICATION CLIENT; report why it is missing
            position["binlog_error"] = f"{type(e).__name__}: {e}"
        for variable in ("gtid_current_pos", "gtid_executed"):
            try:
                cur.execute(f"SELECT @@{variable}")
                position[variable] = cur.fetchone()[0]
            except Exception:  # noqa: BLE001 - the variable exists on MariaDB or MySQL, not both
                continue
    return position
