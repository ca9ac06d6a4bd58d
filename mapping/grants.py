"""What a user's grants let it see of a database, read from SHOW GRANTS lines.

information_schema shows a user only what it may read, and a verification reads through the
same eyes; so a table or a column the user cannot see would be left out and still verified.
The job therefore wants SELECT on each selected database as a whole (global or database
grants, directly or through a role); table and column grants say what it can see instead.
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

    def selects_database(self, database: str) -> bool:
        if self.table != "*" or not ({"SELECT", "ALL"} & self.privileges):
            return False
        return self.database == "*" or _like(self.database, database)


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


def granted_roles(line: str) -> List[str]:
    """The roles a `GRANT role[, role] TO user` line gives, as SHOW GRANTS FOR accepts them."""
    text = line.strip()
    if _GRANT.match(text) or not _ROLE.match(text):
        return []
    roles = _ROLE.match(text).group("roles")  # type: ignore[union-attr]
    return [r.strip() for r in re.findall(r"[`'\"][^`'\"]+[`'\"](?:@[`'\"][^`'\"]*[`'\"])?", roles)]


def missing_database_select(grants: Sequence[Grant], databases: Sequence[str]) -> List[str]:
    return [d for d in databases if not any(g.selects_database(d) for g in grants)]


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


def _like(pattern: str, name: str) -> bool:
    """A database grant's name is a LIKE pattern: `_` and `%` are wildcards unless escaped."""
    regex = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        regex += "." if c == "_" else ".*" if c == "%" else re.escape(c)
        i += 1
    return re.fullmatch(regex, name) is not None
