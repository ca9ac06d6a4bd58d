"""Target DynamoDB table names: template, prefix, and deterministic rewrites.

DynamoDB allows 3-255 characters of [A-Za-z0-9_.-]. A name outside that is rewritten:
invalid characters become "_" and a short hash of the original name is appended, so two
different source names can never rewrite to the same target name.
"""
import hashlib
import re
from typing import Dict, Iterable, Tuple

MIN_TABLE_NAME = 3
MAX_TABLE_NAME = 255
_INVALID = re.compile(r"[^A-Za-z0-9_.\-]")
_HASH_CHARS = 8


class NameCollision(ValueError):
    pass


def render_target_name(template: str, prefix: str, database: str, table: str) -> str:
    try:
        return prefix + template.format(database=database, table=table)
    except (KeyError, IndexError) as e:
        raise ValueError(
            f"naming.template {template!r} may only use {{database}} and {{table}}, found {e}"
        ) from e


def is_valid_table_name(name: str) -> bool:
    return MIN_TABLE_NAME <= len(name) <= MAX_TABLE_NAME and not _INVALID.search(name)


def sanitize_table_name(name: str) -> str:
    """Return name unchanged if DynamoDB accepts it, else a deterministic valid rewrite."""
    if is_valid_table_name(name):
        return name
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    body = _INVALID.sub("_", name)[: MAX_TABLE_NAME - _HASH_CHARS - 1]
    return f"{body}-{digest}"


def assign_target_names(wanted: Iterable[Tuple[str, str]]) -> Dict[str, str]:
    """Map each source (qualified name -> wanted target) to a unique valid target name.

    Raises NameCollision when two source tables would land in one DynamoDB table.
    """
    assigned: Dict[str, str] = {}
    owner: Dict[str, str] = {}
    for source, target in wanted:
        final = sanitize_table_name(target)
        if final in owner:
            raise NameCollision(
                f"tables {owner[final]} and {source} both map to DynamoDB table {final!r}; "
                f"set a different target for one of them in the conf 'tables' section"
            )
        owner[final] = source
        assigned[source] = final
    return assigned
