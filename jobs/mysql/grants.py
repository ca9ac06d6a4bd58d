"""The user's own grants (driver, pymysql): SHOW GRANTS, and those of the roles active now."""

from typing import List, Sequence

from pymysql.connections import Connection

from mapping.grants import Grant, granted_roles, missing_database_select, parse_grant, visible_parts


def active_grants(conn: Connection) -> List[Grant]:
    """Grants of the user and of the roles active in this session (a granted role that is not
    active, not a default role, gives this session nothing), followed through nested roles."""
    lines = _show(conn, "SHOW GRANTS")
    pending = _current_roles(conn)
    followed = set()
    while pending:
        role = pending.pop()
        if role in followed:
            continue
        followed.add(role)
        role_lines = _show(conn, f"SHOW GRANTS FOR {role}")
        lines += role_lines
        pending += [r for line in role_lines for r in granted_roles(line)]
    return [g for g in (parse_grant(line) for line in lines) if g is not None]


def _current_roles(conn: Connection) -> List[str]:
    """MariaDB's CURRENT_ROLE() names one role or is NULL; MySQL 8's lists `r`@`h` or says NONE."""
    rows = _show(conn, "SELECT CURRENT_ROLE()")
    value = rows[0] if rows else None
    if not value or value.upper() == "NONE":
        return []
    if "`" in value:
        return [part.strip() for part in value.split(",") if part.strip()]
    return ["`" + value.replace("`", "``") + "`"]


def _show(conn: Connection, sql: str) -> List[str]:
    with conn.cursor() as cur:
        cur.execute(sql)
        return [row[0] for row in cur.fetchall() if row and row[0] is not None]


def unseen(conn: Connection, databases: Sequence[str]) -> List[str]:
    """One line per selected database the user cannot read as a whole, with what it can see."""
    grants = active_grants(conn)
    lines = []
    for database in missing_database_select(grants, databases):
        seen = visible_parts(grants, database)
        lines.append(
            f"database {database!r}: the user has no SELECT on `{database}`.* (or *.*), so tables and columns "
            f"it was not granted are invisible to it and would be left out; it sees "
            f"{', '.join(seen) if seen else 'nothing by table or column grants'}"
        )
    return lines
