"""Reads of the source in a consistent snapshot whose binlog position is known.

MariaDB (and Percona Server) name the snapshot's position exactly: `START TRANSACTION WITH
CONSISTENT SNAPSHOT` sets the session's `binlog_snapshot_file` / `binlog_snapshot_position`
status. Elsewhere (MySQL) the snapshot is known to lie between the server's positions read just
before and just after it was taken, and the span is used as it is: waits go to its high end,
"changed since the read" counts from its low end.
"""

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence, Tuple

import pymysql
from pymysql.connections import Connection

from jobs.mysql.binlog import current_position
from mapping.binlog import Position

FETCH_ROWS = 1000


@dataclass(frozen=True)
class SnapshotSpan:
    low: Position  # every commit through here is in the snapshot
    high: Position  # no commit after here is


@contextmanager
def consistent_snapshot(conn: Connection) -> Iterator[SnapshotSpan]:
    before = current_position(conn)
    with conn.cursor() as cur:
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        cur.execute("SHOW SESSION STATUS LIKE 'binlog\\_snapshot\\_%'")
        status = {name.lower(): value for name, value in cur.fetchall()}
    file, pos = status.get("binlog_snapshot_file"), status.get("binlog_snapshot_position")
    try:
        if file and pos:
            exact = Position(file, int(pos))
            span = SnapshotSpan(exact, exact)
        else:
            span = SnapshotSpan(before, current_position(conn))
        yield span
    finally:
        conn.rollback()


def stream_rows(conn: Connection, sql: str) -> Iterator[Tuple[Any, ...]]:
    """The rows of a query, fetched a thousand at a time (the server keeps the rest)."""
    with conn.cursor(pymysql.cursors.SSCursor) as cur:
        cur.execute(sql)
        while True:
            rows: Sequence[Tuple[Any, ...]] = cur.fetchmany(FETCH_ROWS)
            if not rows:
                return
            yield from rows
