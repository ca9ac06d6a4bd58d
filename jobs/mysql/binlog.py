"""The source's binlog (driver, pymysql + mysql-replication): preconditions, positions, events.

The replication protocol itself is the mysql-replication package's (pymysqlreplication);
this module only checks the server can serve a catch-up, resolves where it starts, and
turns the stream into (position, event) pairs for the catch-up.
"""
import json
import re
from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Tuple

from jobs import storage
from jobs.errors import SourceError

DDL = re.compile(r"^\s*(?:/\*.*?\*/\s*)*(ALTER|RENAME|DROP|TRUNCATE|CREATE\s+OR\s+REPLACE)\s+TABLE\b", re.I | re.S)


@dataclass(frozen=True, order=True)
class Position:
    file: str
    pos: int

    def __str__(self) -> str:
        return f"{self.file}:{self.pos}"

    def as_dict(self) -> Dict:
        return {"binlog_file": self.file, "binlog_position": self.pos}


def _row(conn, sql: str):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone(), [d[0] for d in cur.description] if cur.description else []


def check_server(conn) -> None:
    """Binlog on, ROW format, FULL row image: else one line naming the fix."""
    (log_bin, binlog_format, row_image), _ = _row(conn, "SELECT @@GLOBAL.log_bin, @@GLOBAL.binlog_format, "
                                                        "@@GLOBAL.binlog_row_image")
    if str(log_bin) in ("0", "OFF"):
        raise SourceError("catch-up needs the binary log: the server runs with log_bin = OFF "
                          "(start it with --log-bin, --binlog-format=ROW, --binlog-row-image=FULL)")
    if str(binlog_format).upper() != "ROW":
        raise SourceError(f"catch-up needs binlog_format = ROW, the server has {binlog_format} "
                          f"(SET GLOBAL binlog_format = 'ROW', or --binlog-format=ROW)")
    if str(row_image).upper() != "FULL":
        raise SourceError(f"catch-up needs binlog_row_image = FULL, the server has {row_image} "
                          f"(SET GLOBAL binlog_row_image = 'FULL', or --binlog-row-image=FULL)")


def check_privileges(conn) -> None:
    """REPLICATION CLIENT (or BINLOG MONITOR) to see positions, REPLICATION SLAVE to read the binlog."""
    try:
        _row(conn, "SHOW MASTER STATUS")
    except Exception as e:  # noqa: BLE001 - the server says which privilege
        raise SourceError(f"catch-up needs the REPLICATION CLIENT privilege (BINLOG MONITOR on MariaDB): "
                          f"SHOW MASTER STATUS failed: {e.args[1] if len(e.args) > 1 else e}") from e
    with conn.cursor() as cur:
        cur.execute("SHOW GRANTS FOR CURRENT_USER()")
        grants = " ".join(row[0].upper() for row in cur.fetchall())
    if "ALL PRIVILEGES ON *.*" not in grants and "REPLICATION SLAVE" not in grants \
            and "REPLICATION REPLICA" not in grants:
        raise SourceError("catch-up needs the REPLICATION SLAVE privilege to read the binlog "
                          "(GRANT REPLICATION SLAVE ON *.* TO the job's user)")


def current_position(conn) -> Position:
    row, _ = _row(conn, "SHOW MASTER STATUS")
    if not row:
        raise SourceError("SHOW MASTER STATUS returned nothing: is the binary log on?")
    return Position(row[0], int(row[1]))


def check_position(conn, start: Position) -> None:
    """The start must still be on the server (binlogs expire, or a position can be mistyped)."""
    with conn.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        sizes = {row[0]: int(row[1]) for row in cur.fetchall()}
    if start.file not in sizes:
        oldest = min(sizes) if sizes else "none"
        raise SourceError(f"binlog position {start} is no longer on the server (oldest binlog: {oldest}); "
                          f"reload the tables, then catch up from the new load's report")
    if start.pos > sizes[start.file]:
        raise SourceError(f"binlog position {start} is past the end of {start.file} ({sizes[start.file]} bytes)")


def start_position(catch_up_config) -> Tuple[Optional[Position], Optional[str]]:
    """(file:pos, None) or (None, gtid) from --from-report, --from-position or --from-gtid."""
    if catch_up_config.from_position:
        file, _, pos = catch_up_config.from_position.rpartition(":")
        return Position(file, int(pos)), None
    if catch_up_config.from_gtid:
        return None, catch_up_config.from_gtid
    path = catch_up_config.from_report
    body = json.loads(storage.read_text(path))
    ended = (body.get("catch_up") or {}).get("end") or body.get("source_position") or {}
    if "binlog_file" not in ended:
        why = (ended.get("missing") or {}).get("binlog_position", "no binlog position recorded")
        raise SourceError(f"report {path} has no binlog position to start from: {why}")
    return Position(ended["binlog_file"], int(ended["binlog_position"])), None


def ddl_table(query: str, schema: str, tables: Dict[Tuple[str, str], object]) -> Optional[Tuple[str, str]]:
    """The migrated table a DDL statement changes, if any (names matched as written, quoted or not)."""
    if not DDL.match(query or ""):
        return None
    text = query.replace("`", "")
    for database, table in tables:
        qualified = f"{database}.{table}"
        if qualified in text or (schema == database and re.search(rf"(?<![\w.$]){re.escape(table)}(?![\w$])", text)):
            return database, table
    return None


def events(conn_settings: Dict, server_id: int, start: Optional[Position], gtid: Optional[str],
           follow: bool, mariadb: bool) -> Iterator[Tuple[Position, object]]:
    """(position after the event, event): row events, DDL statements and transaction ends."""
    from pymysqlreplication import BinLogStreamReader
    from pymysqlreplication.event import HeartbeatLogEvent, QueryEvent, XidEvent
    from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

    kwargs = dict(connection_settings=conn_settings, server_id=server_id, blocking=follow, resume_stream=True,
                  only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent, QueryEvent, XidEvent,
                               HeartbeatLogEvent],
                  slave_heartbeat=1 if follow else None, enable_logging=False)
    if start is not None:
        # The classic file:position dump, which MariaDB serves too: in MariaDB mode the library
        # (1.0.x) sends position 4 of the first binlog and would replay everything from there.
        kwargs.update(log_file=start.file, log_pos=start.pos)
    else:
        kwargs.update(auto_position=gtid, is_mariadb=mariadb)
    stream = BinLogStreamReader(**kwargs)
    try:
        for event in stream:
            yield Position(stream.log_file, stream.log_pos), event
    finally:
        stream.close()
