"""Target DynamoDB table names: template, prefix, and deterministic rewrites.

DynamoDB allows 3-255 characters of [A-Za-z0-9_.-]. A name outside that is rewritten:
invalid characters become "_" and a short hash of the original name is appended, so two
different source names can never rewrite to the same target name.
"""

import fnmatch
import hashlib
import re
import string
from typing import Dict, Hashable, Iterable, Tuple

MIN_TABLE_NAME = 3
MAX_TABLE_NAME = 255
_INVALID = re.compile(r"[^A-Za-z0-9_.\-]")
_HASH_CHARS = 8


class NameCollision(ValueError):
    pass


TEMPLATE_FIELDS = ("database", "table")


def template_problem(template: str) -> "str | None":
    """Why a naming template cannot be used (checked up front, on a sample name), or None."""
    try:
        for _, field, _, conversion in string.Formatter().parse(template):
            if field is None:
                continue
            root = re.split(r"[.\[]", field, maxsplit=1)[0]
            if root not in TEMPLATE_FIELDS:
                return f"may only use {{database}} and {{table}}, found {{{field}}}"
            if field != root:
                return f"may only use {{database}} and {{table}} as they are, found {{{field}}}"
            if conversion not in (None, "s"):
                return f"has an unknown conversion !{conversion} in {{{field}}}"
        template.format(database="db", table="table")
    except (ValueError, KeyError, IndexError, AttributeError) as e:
        return f"is not a valid template ({e})"
    return None


def render_target_name(template: str, prefix: str, database: str, table: str) -> str:
    problem = template_problem(template)
    if problem:
        raise ValueError(f"naming.template {template!r} {problem}")
    return prefix + template.format(database=database, table=table)


def is_valid_table_name(name: str) -> bool:
    return MIN_TABLE_NAME <= len(name) <= MAX_TABLE_NAME and not _INVALID.search(name)


def sanitize_table_name(name: str) -> str:
    """Return name unchanged if DynamoDB accepts it, else a deterministic valid rewrite."""
    if is_valid_table_name(name):
        return name
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    body = _INVALID.sub("_", name)[: MAX_TABLE_NAME - _HASH_CHARS - 1]
    return f"{body}-{digest}"


def assign_target_names(wanted: Iterable[Tuple[Hashable, str, str]]) -> Dict[Hashable, str]:
    """Map each source (identity, display name, wanted target) to a unique valid target name.

    Identities are compared, never display names: `a.b`.`c` and `a`.`b.c` print alike.
    Raises NameCollision when two source tables would land in one DynamoDB table.
    """
    assigned: Dict[Hashable, str] = {}
    owner: Dict[str, str] = {}
    for identity, shown, target in wanted:
        final = sanitize_table_name(target)
        if final in owner:
            raise NameCollision(
                f"tables {owner[final]} and {shown} both map to DynamoDB table {final!r}; "
                f"set a different target for one of them in the conf 'tables' section"
            )
        owner[final] = shown
        assigned[identity] = final
    return assigned


def display_name(database: str, table: str) -> str:
    """db.table for people; backtick-quoted when a dot or backtick would make it ambiguous."""
    if any(c in name for name in (database, table) for c in ".`"):
        return "`" + database.replace("`", "``") + "`.`" + table.replace("`", "``") + "`"
    return f"{database}.{table}"


def path_component(name: str) -> str:
    """A folder name that stands for exactly one database or table name ('/' and '%' escaped)."""
    encoded = "".join(f"%{ord(c):02X}" if c in "%/\\" or ord(c) < 32 else c for c in name)
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def name_matches(name: str, pattern: str) -> bool:
    """A selector: an exact name always matches itself, even when it holds glob characters (`br[1]`)."""
    return name == pattern or fnmatch.fnmatchcase(name, pattern)
