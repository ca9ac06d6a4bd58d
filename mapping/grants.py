"""Whether a user can read a database whole, as the server decides it, and what it sees if not.

information_schema shows a user only what it may read, and a verification reads through the
same eyes; so a table or a column the user cannot see would be left out and still verified.
The job therefore wants SELECT on each selected database as a whole. Grants are never added
up here: the server's own rules (the most specific database grant wins, roles active in the
session and the roles they hold, MySQL 8's partial revokes) are the server's to apply. The
job asks it: a SELECT from a table that does not exist is answered "doesn't exist" (1146)
only when the user holds SELECT on the whole database, and "SELECT command denied" (1142)
when it holds it on some tables at most. SHOW GRANTS lines serve only to say, in words,
what such a user does see.
"""

import re
from dataclasses import dataclass
from typing import FrozenSet, List, Optional, Sequence, Tuple

_GRANT = re.compile(r"^GRANT\s+(?P<privileges>.+?)\s+ON\s+(?P<object>.+?)\s+TO\s+", re.IGNORECASE | re.DOTALL)
_ROLE = re.compile(r"^GRANT\s+(?P<roles>(?:[`'\"][^`'\"]+[`'\"](?:@[`'\"][^`'\"]*[`'\"])?\s*,?\s*)+)\s+TO\s+", re.I)
_NAME = r"(?:`(?:[^`]|``)*`|\*|[A-Za-z0-9_$%\\]+)"
_KIND = r"(?:(?:TABLE|PROCEDURE|FUNCTION|PACKAGE(?: BODY)?)\s+)?"
_OBJECT = re.compile(rf"^{_KIND}(?P<db>{_NAME})\.(?P<table>{_NAME})$", re.I)


@dataclass(frozen=True)
class Grant:
    privileges: FrozenSet[str]  # upper case; "ALL PRIVILEGES" as ALL
    database: str  # "*" for every database, else a name or a LIKE pattern (database grants only)
    table: str  # "*" for every table of the database
    columns: Tuple[str, ...] = ()  # a column grant: the columns SELECT was granted on


def parse_grant(line: str) -> Optional[Grant]:
    """A SHOW GRANTS line as a Grant; None for lines that grant roles or no object privileges."""
    match = _GRANT.match(line.strip())
    if not match:
        return None
    target = _OBJECT.match(match.group("object").strip())
    if not target:
        return None
    privileges, columns = _privileges(match.group("privileges"))
    return Grant(privileges, _unquote(target.group("db")), _unquote(target.group("table")), columns)


def visible_parts(grants: Sequence[Grant], database: str) -> List[str]:
    """What the table and column grants let the user see of a database, in words."""
    parts = []
    for grant in grants:
        if grant.database != database or grant.table == "*":
            continue
        if {"SELECT", "ALL"} & grant.privileges:
            parts.append(grant.table)
        elif grant.columns:
            parts.append(f"{grant.table} (columns {', '.join(sorted(grant.columns))} only)")
    return sorted(set(parts))


def _privileges(text: str) -> Tuple[FrozenSet[str], Tuple[str, ...]]:
    names, columns = set(), []
    for part in re.findall(r"[^,(]+(?:\([^)]*\))?", text):
        name, _, cols = part.strip().partition("(")
        name = " ".join(name.upper().split())
        if name in ("ALL", "ALL PRIVILEGES"):
            name = "ALL"
        if cols:
            if name == "SELECT":
                columns += [_unquote(c.strip()) for c in cols.rstrip(")").split(",")]
            name = f"{name} (columns)"
        names.add(name)
    return frozenset(names), tuple(columns)


def _unquote(name: str) -> str:
    if name.startswith("`") and name.endswith("`"):
        return name[1:-1].replace("``", "`")
    return name


WHOLE, PARTIAL, UNDECIDED = "whole", "partial", "undecided"
TABLE_MISSING = 1146
DENIED = (1142, 1143, 1044)  # SELECT denied on the table, on a column, access to the database


def probe_verdict(error_code: Optional[int]) -> str:
    """What the server's answer to `SELECT ... FROM db.<absent table>` says (None: it succeeded)."""
    if error_code == TABLE_MISSING:
        return WHOLE
    if error_code in DENIED:
        return PARTIAL
    return UNDECIDED


def inactive_roles(applicable: Sequence[Tuple[str, str]], enabled: Sequence[str]) -> List[str]:
    """Roles granted to the user itself (grantee user@host) that are not active in its session,
    from information_schema.APPLICABLE_ROLES (grantee, role) and ENABLED_ROLES."""
    active = set(enabled)
    return sorted({role for grantee, role in applicable if "@" in grantee and role not in active})


def role_hint(inactive: Sequence[str]) -> str:
    if not inactive:
        return ""
    names = ", ".join(inactive)
    return (
        f"; role(s) {names} granted to the user but not active in its sessions: make one a default role "
        f"(SET DEFAULT ROLE {inactive[0]} FOR the job's user), the job's sessions then have it"
    )


def unseen_line(database: str, verdict: str, sees: Sequence[str], inactive: Sequence[str], answer: str) -> str:
    """One line for a selected database the job cannot show the user reads whole."""
    seen = ", ".join(sees) if sees else "nothing by table or column grants it could list"
    if verdict == PARTIAL:
        why = (
            f"the server does not give the user SELECT on `{database}`.* as a whole ({answer}), so tables and "
            f"columns it was not granted are invisible to it and would be left out; it sees {seen}"
        )
    else:
        why = f"the job could not decide whether the user reads `{database}` whole: the server answered {answer}"
    return f"database {database!r}: {why}{role_hint(inactive)}"
