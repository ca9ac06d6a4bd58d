"""Whether the user reads each selected database whole, asked of the server itself (pymysql);
the rules that read its answers are `mapping.grants`'."""

from typing import List, Optional, Sequence, Tuple

import pymysql
from pymysql.connections import Connection

from mapping.grants import WHOLE, inactive_roles, parse_grant, probe_verdict, role_hint, unseen_line, visible_parts
from mapping.identifiers import quote_identifier

PROBE_TABLE = "m2d visibility probe (absent)"


def probe(conn: Connection, database: str) -> Tuple[Optional[int], str]:
    """(error code, the server's words) of a SELECT from a table that does not exist; (None, ...)
    if it was answered."""
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT 1 FROM {quote_identifier(database)}.{quote_identifier(PROBE_TABLE)} LIMIT 0")
        return None, "the probe table exists"
    except pymysql.err.MySQLError as e:
        code = e.args[0] if e.args and isinstance(e.args[0], int) else None
        return code, f"{code}: {e.args[1] if len(e.args) > 1 else e}"


def inactive(conn: Connection) -> List[str]:
    """Roles granted to the user and not active in this session (MariaDB; [] where the server
    has no such view or refuses it)."""
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT GRANTEE, ROLE_NAME FROM information_schema.APPLICABLE_ROLES")
            applicable = [(str(g), str(r)) for g, r in cur.fetchall()]
            cur.execute("SELECT ROLE_NAME FROM information_schema.ENABLED_ROLES")
            enabled = [str(r) for (r,) in cur.fetchall() if r is not None]
    except pymysql.err.MySQLError:
        return []
    return inactive_roles(applicable, enabled)


def inactive_role_hint(conn: Connection) -> str:
    return role_hint(inactive(conn))


def _sees(conn: Connection, database: str) -> List[str]:
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW GRANTS")  # plain: it lists the active roles' grants too, nested ones included
            lines = [row[0] for row in cur.fetchall() if row and row[0] is not None]
    except pymysql.err.MySQLError:
        return []
    return visible_parts([g for g in (parse_grant(line) for line in lines) if g is not None], database)


def unseen(conn: Connection, databases: Sequence[str]) -> List[str]:
    """One line per selected database the server does not let the user read whole (or where its
    answer cannot be read), with what the user does see."""
    lines = []
    for database in databases:
        code, answer = probe(conn, database)
        verdict = probe_verdict(code)
        if verdict != WHOLE:
            lines.append(unseen_line(database, verdict, _sees(conn, database), inactive(conn), answer))
    return lines
