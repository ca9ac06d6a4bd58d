"""The source's binlog (driver, pymysql + mysql-replication): preconditions, positions, events.

The replication protocol itself is the mysql-replication package's (pymysqlreplication);
this module only checks the server can serve a catch-up, resolves where it starts, and
turns the stream into (position, event) pairs for the catch-up.
"""

from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

from pymysql.connections import Connection

from jobs.errors import SourceError
from mapping.binlog import (
    Event,
    Heartbeat,
    Position,
    Rotated,
    RowsChanged,
    Statement,
    TableName,
    TransactionCommitted,
    xid_text,
)
from mapping.binlog_values import exact_none


def _row(conn: Connection, sql: str) -> Tuple[Any, List[str]]:
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone(), [d[0] for d in cur.description] if cur.description else []


def check_server(conn: Connection) -> None:
    """Binlog on, ROW format, FULL row image: else one line naming the fix."""
    (log_bin, binlog_format, row_image), _ = _row(
        conn, "SELECT @@GLOBAL.log_bin, @@GLOBAL.binlog_format, @@GLOBAL.binlog_row_image"
    )
    if str(log_bin) in ("0", "OFF"):
        raise SourceError(
            "catch-up needs the binary log: the server runs with log_bin = OFF "
            "(start it with --log-bin, --binlog-format=ROW, --binlog-row-image=FULL)"
        )
    if str(binlog_format).upper() != "ROW":
        raise SourceError(
            f"catch-up needs binlog_format = ROW, the server has {binlog_format} "
            f"(SET GLOBAL binlog_format = 'ROW', or --binlog-format=ROW)"
        )
    if str(row_image).upper() != "FULL":
        raise SourceError(
            f"catch-up needs binlog_row_image = FULL, the server has {row_image} "
            f"(SET GLOBAL binlog_row_image = 'FULL', or --binlog-row-image=FULL)"
        )


def check_row_metadata(conn: Connection) -> None:
    """binlog_row_metadata = FULL where the server has the setting (MariaDB >= 10.5, MySQL >= 8.0.14):
    without it row events carry no column names or signedness (an unsigned INT above 2^31
    would decode negative). MySQL 8's and RDS's default is MINIMAL."""
    with conn.cursor() as cur:
        cur.execute("SHOW GLOBAL VARIABLES LIKE 'binlog_row_metadata'")
        row = cur.fetchone()
    if row is not None and str(row[1]).upper() != "FULL":
        raise SourceError(
            f"catch-up needs binlog_row_metadata = FULL, the server has {row[1]} "
            f"(SET GLOBAL binlog_row_metadata = 'FULL', or --binlog-row-metadata=FULL; it applies to new events)"
        )


def check_privileges(conn: Connection) -> None:
    """REPLICATION CLIENT (or BINLOG MONITOR) to see positions, REPLICATION SLAVE to read the binlog."""
    try:
        _row(conn, "SHOW MASTER STATUS")
    except Exception as e:
        raise SourceError(
            f"catch-up needs the REPLICATION CLIENT privilege (BINLOG MONITOR on MariaDB): "
            f"SHOW MASTER STATUS failed: {e.args[1] if len(e.args) > 1 else e}"
        ) from e
    with conn.cursor() as cur:
        cur.execute("SHOW GRANTS FOR CURRENT_USER()")
        grants = " ".join(row[0].upper() for row in cur.fetchall())
    if (
        "ALL PRIVILEGES ON *.*" not in grants
        and "REPLICATION SLAVE" not in grants
        and "REPLICATION REPLICA" not in grants
    ):
        raise SourceError(
            "catch-up needs the REPLICATION SLAVE privilege to read the binlog "
            "(GRANT REPLICATION SLAVE ON *.* TO the job's user)"
        )


def current_position(conn: Connection) -> Position:
    row, _ = _row(conn, "SHOW MASTER STATUS")
    if not row:
        raise SourceError("SHOW MASTER STATUS returned nothing: is the binary log on?")
    return Position(row[0], int(row[1]))


class PositionPurged(SourceError):
    """The position's binlog file is gone from the server (expired or purged)."""


def check_position(conn: Connection, start: Position) -> None:
    """The start must still be on the server (binlogs expire, or a position can be mistyped)."""
    with conn.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        sizes = {row[0]: int(row[1]) for row in cur.fetchall()}
    if start.file not in sizes:
        oldest = min(sizes) if sizes else "none"
        raise PositionPurged(
            f"binlog position {start} is no longer on the server (oldest binlog: {oldest}); "
            f"reload the tables, then catch up from the new load's report"
        )
    if start.pos > sizes[start.file]:
        raise SourceError(f"binlog position {start} is past the end of {start.file} ({sizes[start.file]} bytes)")


def events(
    conn_settings: Dict[str, Any],
    server_id: int,
    start: Optional[Position],
    gtid: Optional[str],
    follow: bool,
    mariadb: bool,
    heartbeat_seconds: float = 0.5,
    tables: Optional[Sequence[TableName]] = None,
) -> Iterator[Event]:
    """The stream as the catch-up's event kinds (`mapping.binlog`), each with the position after it.

    `tables`: the only tables whose row events are decoded (the run's, and the parents its
    cascades follow); the library skips the rest without parsing their rows, so another
    database's traffic costs the catch-up only its reading. Statements are never filtered."""
    from pymysqlreplication import BinLogStreamReader
    from pymysqlreplication.event import HeartbeatLogEvent, QueryEvent, RotateEvent, XAPrepareEvent, XidEvent
    from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

    kwargs: Dict[str, Any] = {
        "connection_settings": conn_settings,
        "server_id": server_id,
        "blocking": follow,
        "resume_stream": True,
        "only_events": [
            WriteRowsEvent,
            UpdateRowsEvent,
            DeleteRowsEvent,
            QueryEvent,
            XidEvent,
            XAPrepareEvent,
            RotateEvent,
            HeartbeatLogEvent,
        ],
        "slave_heartbeat": heartbeat_seconds if follow else None,
        "enable_logging": False,
    }
    if tables is not None:  # a row event must match both: a table of another database is never decoded
        kwargs.update(only_schemas=sorted({d for d, _ in tables}), only_tables=sorted({t for _, t in tables}))
    if start is not None:
        # The classic file:position dump, which MariaDB serves too: in MariaDB mode the library
        # (1.0.x) sends position 4 of the first binlog and would replay everything from there.
        kwargs.update(log_file=start.file, log_pos=start.pos)
    else:
        kwargs.update(auto_position=gtid, is_mariadb=mariadb)
    stream = BinLogStreamReader(**kwargs)
    try:
        for event in stream:
            position = Position(stream.log_file, stream.log_pos)
            if isinstance(event, (WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent)):
                sets = {c.name for c in event.columns if c.set_values}
                if isinstance(event, UpdateRowsEvent):
                    images = tuple(
                        _exact_nones(row[f"{side}_values"], row[f"{side}_none_sources"], sets)
                        for row in event.rows
                        for side in ("before", "after")
                    )
                    kind = "update"
                else:
                    images = tuple(_exact_nones(row["values"], row["none_sources"], sets) for row in event.rows)
                    kind = "delete" if isinstance(event, DeleteRowsEvent) else "insert"
                table = (event.schema, event.table)
                yield RowsChanged(position, table, images, len(event.rows), event.timestamp, kind)
            elif isinstance(event, XidEvent):
                yield TransactionCommitted(position, event.timestamp)
            elif isinstance(event, XAPrepareEvent):  # MariaDB >= 10.5 and MySQL log XA PREPARE as its own event
                verb = "COMMIT" if event.one_phase else "PREPARE"
                xid = xid_text(event.xid_gtrid, event.xid_bqual, event.xid_format_id)
                yield Statement(
                    position, f"XA {verb} {xid}{' ONE PHASE' if event.one_phase else ''}", "", event.timestamp
                )
            elif isinstance(event, QueryEvent):
                yield Statement(position, _text(event.query), _text(event.schema), event.timestamp)
            elif isinstance(event, RotateEvent):
                yield Rotated(Position(event.next_binlog, event.position))
            elif isinstance(event, HeartbeatLogEvent):
                yield Heartbeat(position)
        if stream.log_file and stream.log_pos:  # where the stream ended (the server's end, unless cut short)
            yield Heartbeat(Position(stream.log_file, stream.log_pos))
    finally:
        stream.close()


def _exact_nones(values: Dict[str, Any], none_sources: Dict[str, str], sets: Set[str]) -> Dict[str, Any]:
    """The image with each None the library gives for something other than NULL (a zero date,
    an empty SET, ...) replaced by what it stands for, or `Inexact`."""
    if not none_sources:
        return values
    return {
        name: (exact_none(none_sources.get(name, "null"), name in sets) if value is None else value)
        for name, value in values.items()
    }


def _text(value: Union[str, bytes, None]) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""
