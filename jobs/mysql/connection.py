"""The driver's pymysql connection (plan, bounds, source position)."""

from jobs.errors import SourceError
from jobs.mysql.reader import session_init_sql


def connect(mysql_config, password: str):
    import pymysql

    try:
        return pymysql.connect(
            host=mysql_config.host,
            port=mysql_config.port,
            user=mysql_config.user,
            password=password,
            charset="utf8mb4",
            connect_timeout=mysql_config.connect_timeout_seconds,
            autocommit=True,
            init_command=session_init_sql(mysql_config),
        )
    except pymysql.err.MySQLError as e:
        code, message = (e.args + ("",))[:2] if e.args else ("?", str(e))
        raise SourceError(
            f"cannot connect to MySQL at {mysql_config.host}:{mysql_config.port} as {mysql_config.user!r}: "
            f"({code}) {str(message).splitlines()[0] if message else type(e).__name__}"
        ) from e
