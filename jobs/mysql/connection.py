"""The driver's pymysql connection (plan, bounds, source position), and waiting out a server
that refuses connections."""

import logging
import random
import time
from typing import Callable, Optional, TypeVar

from jobs.errors import SourceError, too_many_connections
from jobs.mysql.reader import session_init_sql

log = logging.getLogger("mysql2dynamodb")
T = TypeVar("T")


def connect(mysql_config, password: str):
    import pymysql

    try:
        return retry_refused(
            lambda: pymysql.connect(
                host=mysql_config.host,
                port=mysql_config.port,
                user=mysql_config.user,
                password=password,
                charset="utf8mb4",
                connect_timeout=mysql_config.connect_timeout_seconds,
                autocommit=True,
                init_command=session_init_sql(mysql_config),
            ),
            f"MySQL at {mysql_config.host}:{mysql_config.port}",
            mysql_config.connection_retry_seconds,
        )
    except pymysql.err.MySQLError as e:
        code, message = (e.args + ("",))[:2] if e.args else ("?", str(e))
        raise SourceError(
            f"cannot connect to MySQL at {mysql_config.host}:{mysql_config.port} as {mysql_config.user!r}: "
            f"({code}) {str(message).splitlines()[0] if message else type(e).__name__}"
        ) from e


def retry_refused(
    action: Callable[[], T],
    what: str,
    limit_seconds: float,
    pause: Optional[Callable[[float], object]] = None,
) -> T:
    """action(), again after a growing pause (1 s doubling to 30 s, jittered) while the source
    refuses connections ("Too many connections"), for up to limit_seconds; other errors and
    the last refusal are raised."""
    sleep: Callable[[float], object] = pause or time.sleep
    deadline = time.monotonic() + limit_seconds
    delay = 1.0
    while True:
        try:
            return action()
        except Exception as e:
            if not too_many_connections(e) or time.monotonic() + delay > deadline:
                raise
            log.warning("%s: the source refused a connection (too many connections); again in %.0fs", what, delay)
            sleep(delay * random.uniform(0.8, 1.2))
            delay = min(30.0, delay * 2)
