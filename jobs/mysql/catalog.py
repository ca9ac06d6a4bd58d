"""Reading the source schema from information_schema with pymysql (driver side only)."""

from collections import defaultdict
from typing import Any, Dict, List, Sequence, Tuple

from jobs.errors import SourceError
from jobs.mysql import grants
from mapping.names import name_matches
from mapping.schema import MIGRATED_KINDS, Column, ForeignKey, SkippedObject, SourceTable, UniqueKey, skip_reason

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
        matches = [name for name in available if name_matches(name, pattern)]
        if not matches:
            raise SourceError(
                f"unknown database {pattern!r} on the MySQL server (user databases: {', '.join(available) or 'none'})"
                + grants.inactive_role_hint(conn)
            )
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def read_tables(conn, database: str) -> Tuple[List[SourceTable], List[SkippedObject]]:
    """Every table of one database with columns, keys and size estimates, and the objects
    that are not migrated (views, sequences), each with why."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME, TABLE_TYPE, COALESCE(TABLE_ROWS, 0), COALESCE(DATA_LENGTH, 0) "
            "FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME",
            (database,),
        )
        sizes, kinds, skipped = {}, {}, []
        for name, kind, rows, data_bytes in cur.fetchall():
            if kind in MIGRATED_KINDS:
                sizes[name], kinds[name] = (int(rows), int(data_bytes)), kind
            else:
                skipped.append(SkippedObject(database, name, kind, skip_reason(kind)))
        cur.execute(
            "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, ORDINAL_POSITION, "
            "CHARACTER_OCTET_LENGTH, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (database,),
        )
        columns: Dict[str, List[Column]] = defaultdict(list)
        for table, name, data_type, column_type, nullable, position, octets, charset, collation in cur.fetchall():
            columns[table].append(
                Column(
                    name=name,
                    data_type=str(data_type).lower(),
                    column_type=str(column_type),
                    nullable=(nullable == "YES"),
                    position=int(position),
                    max_bytes=None if octets is None else int(octets),
                    charset=charset,
                    collation=collation,
                )
            )
        cur.execute(
            "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = %s AND NON_UNIQUE = 0 ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            (database,),
        )
        indexes: Dict[str, Dict[str, List[str]]] = defaultdict(lambda: defaultdict(list))
        for table, index, column in cur.fetchall():
            indexes[table][index].append(column)
        foreign_keys = _foreign_keys(cur, database)
    tables = []
    for table, (rows, data_bytes) in sizes.items():
        table_indexes = indexes.get(table, {})
        tables.append(
            SourceTable(
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
                kind=kinds[table],
                foreign_keys=foreign_keys.get(table, ()),
            )
        )
    return tables, skipped


def _foreign_keys(cur: Any, database: str) -> Dict[str, Tuple[ForeignKey, ...]]:
    """Each table's foreign keys, columns in the key's order. Two plain queries joined here:
    MariaDB 10.11 was seen to crash (signal 11, cleaning up a failed temporary table for the
    schema) on the join of the two information_schema views in one statement."""
    cur.execute(
        "SELECT TABLE_NAME, CONSTRAINT_NAME, DELETE_RULE, UPDATE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS "
        "WHERE CONSTRAINT_SCHEMA = %s",
        (database,),
    )
    rules = {(table, name): (on_delete, on_update) for table, name, on_delete, on_update in cur.fetchall()}
    if not rules:
        return {}
    cur.execute(
        "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, "
        "REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
        "WHERE TABLE_SCHEMA = %s AND REFERENCED_TABLE_NAME IS NOT NULL "
        "ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
        (database,),
    )
    gathered: Dict[Tuple[str, str], Dict[str, Any]] = {}
    for table, name, column, parent_db, parent, parent_column in cur.fetchall():
        if (table, name) not in rules:
            continue
        key = gathered.setdefault(
            (table, name),
            {"parent": (parent_db, parent), "columns": [], "parent_columns": [], "rules": rules[(table, name)]},
        )
        key["columns"].append(column)
        key["parent_columns"].append(parent_column)
    result: Dict[str, List[ForeignKey]] = defaultdict(list)
    for (table, name), key in gathered.items():
        on_delete, on_update = key["rules"]
        result[table].append(
            ForeignKey(
                name,
                tuple(key["columns"]),
                key["parent"],
                tuple(key["parent_columns"]),
                str(on_delete).upper(),
                str(on_update).upper(),
            )
        )
    return {table: tuple(keys) for table, keys in result.items()}


def _max_row_bytes(columns: Sequence[Column]) -> int:
    """Upper bound of a row's rendered size from declared lengths (strings only)."""
    total = 0
    for column in columns:
        total += len(column.name.encode("utf-8"))
        total += column.max_bytes if column.max_bytes is not None else 64
    return total


def source_position(conn) -> Dict[str, object]:
    """Binlog file/position and GTID before the first read: where a catch-up can start.

    A field that cannot be had is absent, and `missing` says why (binlog off, privilege).
    """
    position: Dict[str, object] = {}
    missing: Dict[str, str] = {}
    with conn.cursor() as cur:
        log_bin = _variable(cur, "log_bin")
        try:
            cur.execute("SHOW MASTER STATUS")
            row = cur.fetchone()
            if row:
                position["binlog_file"], position["binlog_position"] = row[0], int(row[1])
            else:
                missing["binlog_position"] = (
                    "binary logging is off on the server (log_bin = OFF); start it with --log-bin"
                )
        except Exception as e:  # noqa: BLE001 - needs REPLICATION CLIENT / BINLOG MONITOR
            missing["binlog_position"] = f"SHOW MASTER STATUS failed (privilege missing?): {_error_text(e)}"
        found_gtid = False
        for variable in ("gtid_current_pos", "gtid_executed"):  # MariaDB, MySQL
            value = _variable(cur, variable)
            if value is None:
                continue
            found_gtid = True
            position[variable] = value
            if value == "":
                missing[variable] = (
                    "empty: no GTID transaction has been logged yet"
                    if log_bin in ("1", "ON")
                    else "empty: binary logging is off (log_bin = OFF)"
                )
        if not found_gtid:
            missing["gtid"] = "the server has neither @@gtid_current_pos nor @@gtid_executed"
        position["server"] = server_identity(cur)
    if missing:
        position["missing"] = missing
    return position


def connection_limits(conn) -> Tuple[int, int, int]:
    """(max_connections, connections open now, max_user_connections; 0: none), as the server says."""
    with conn.cursor() as cur:
        cur.execute("SELECT @@max_connections, @@max_user_connections")
        max_connections, max_user = cur.fetchone()
        cur.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")  # MySQL 8 and MariaDB alike
        row = cur.fetchone()
    return int(max_connections), int(row[1]) if row else 0, max(0, int(max_user or 0))


def server_identity(cur: Any) -> str:
    """The server a binlog position belongs to: positions of another server mean nothing here."""
    cur.execute("SELECT @@hostname, @@port, @@server_id")
    host, port, server_id = cur.fetchone()
    return f"{host}:{port} server_id {server_id}"


def _variable(cur, name: str):
    try:
        cur.execute(f"SELECT @@{name}")  # name is one of our constants, never user input
        value = cur.fetchone()[0]
    except Exception:  # noqa: BLE001 - the variable exists on MariaDB or MySQL, not both
        return None
    return str(value) if value is not None else None


def _error_text(error: Exception) -> str:
    args: Tuple[Any, ...] = tuple(getattr(error, "args", ()))
    if len(args) >= 2:
        return f"({args[0]}) {args[1]}"
    return f"{type(error).__name__}: {error}"
