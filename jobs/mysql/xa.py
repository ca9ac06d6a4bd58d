"""XA transactions prepared on the source and not yet committed (`XA RECOVER`).

A prepared XA transaction's rows are in the binlog before its commit, and invisible to every
read until `XA COMMIT`. A load that took its position while one was prepared would miss it
twice: its reads see the old rows, and a catch-up from its position skips the prepared rows,
logged before it. So the load takes its position only when none is prepared at that moment.
"""

import logging
import time
from typing import Callable, Dict, List, TypeVar

import pymysql
from pymysql.connections import Connection

from jobs.errors import SourceError

log = logging.getLogger("mysql2dynamodb")
T = TypeVar("T")
ACCESS_DENIED = (1044, 1045, 1142, 1227)


def prepared(conn: Connection) -> List[str]:
    """The ids of the XA transactions prepared and not yet committed, as X'..',X'..',N."""
    with conn.cursor() as cur:
        cur.execute("XA RECOVER")
        rows = cur.fetchall()
    found = []
    for format_id, gtrid_length, _, data in rows:
        raw = data if isinstance(data, bytes) else str(data).encode("utf-8")
        found.append(f"X'{raw[: int(gtrid_length)].hex()}',X'{raw[int(gtrid_length) :].hex()}',{format_id}")
    return found


def position_before_no_prepared_xa(
    conn: Connection, take_position: Callable[[], Dict], wait_seconds: float, pause: float = 1.0
) -> Dict:
    """take_position() at a moment no XA transaction is prepared: taken first and checked after,
    so an XA prepared before it has committed (its commit visible to every read that follows)
    or rolled back. Waits up to wait_seconds for prepared ones to end, then stops in one line.
    Where XA RECOVER is refused, the position says so under "missing"."""
    deadline = time.monotonic() + wait_seconds
    logged = False
    while True:
        position = take_position()
        try:
            waiting = prepared(conn)
        except pymysql.err.MySQLError as e:  # a privilege: said in the report, not guessed
            if not e.args or e.args[0] not in ACCESS_DENIED:
                raise
            position.setdefault("missing", {})["prepared_xa"] = (
                f"XA RECOVER was refused ({e.args[1] if len(e.args) > 1 else e}): an XA transaction prepared "
                "before this position and committed after it would be missed; grant XA_RECOVER_ADMIN (MySQL 8)"
            )
            return position
        if not waiting:
            return position
        if time.monotonic() >= deadline:
            raise SourceError(
                f"XA transaction(s) {', '.join(waiting[:5])} prepared on the source and not committed for "
                f"{wait_seconds:.0f}s (mysql.prepared_xa_wait_seconds): its rows can be neither read nor caught up; "
                "commit or roll it back (XA COMMIT / XA ROLLBACK), then run again"
            )
        if not logged:
            log.warning(
                "waiting for %d prepared XA transaction(s) to end before taking the load's position: %s",
                len(waiting),
                ", ".join(waiting[:5]),
            )
            logged = True
        time.sleep(pause)
