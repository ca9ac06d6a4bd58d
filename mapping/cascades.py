"""Foreign keys whose actions change child rows the binlog does not log, and the rules for
following a parent's change down to its children.

InnoDB performs ON DELETE / ON UPDATE CASCADE and SET NULL itself, and neither MariaDB nor
MySQL writes row events for the child rows it changes. A parent's deleted or re-keyed rows are
in the binlog, so the children they touched can be found: those whose items still hold the
old referenced values, and (ON UPDATE CASCADE) the rows that now hold the new ones. A child
row a cascade deleted can in turn cascade to its own children, and so on.
"""

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from mapping.binlog import RowImage, TableName
from mapping.schema import CASCADING_RULES, ForeignKey

DELETE, UPDATE = "delete", "update"


@dataclass
class Derived:
    """What a batch's cascades may have changed in one child table: item rows to re-read (their
    key columns' text, or every column's for a keyless table) and source conditions whose rows to re-read."""

    rendered_rows: List[Dict[str, Optional[str]]] = field(default_factory=list)
    conditions: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class Edge:
    """A cascading foreign key of a selected child table."""

    child: TableName
    key: ForeignKey

    @property
    def parent(self) -> TableName:
        return (self.key.parent[0], self.key.parent[1])

    def cascades_on(self, action: str) -> bool:
        rule = self.key.on_delete if action == DELETE else self.key.on_update
        return rule in CASCADING_RULES


def cascading_edges(children: Mapping[TableName, Sequence[ForeignKey]]) -> List[Edge]:
    return [Edge(child, key) for child, keys in children.items() for key in keys if key.cascades]


def freeze(value: object) -> object:
    """A binlog value usable in a set (SET columns come as sets, JSON as dicts or lists)."""
    if isinstance(value, (set, frozenset)):
        return ",".join(sorted(str(v) for v in value))
    if isinstance(value, (dict, list)):
        return repr(value)
    return value


def changed_references(
    edge: Edge, pairs: Iterable[Tuple[RowImage, Optional[RowImage]]]
) -> Tuple[Dict[Tuple[object, ...], str], List[Tuple[object, ...]]]:
    """From a parent's (before, after) rows: the referenced values children may still hold, each
    with what happened to them (delete or update), and the new values ON UPDATE CASCADE gave them."""
    old: Dict[Tuple[object, ...], str] = {}
    new: List[Tuple[object, ...]] = []
    columns = edge.key.parent_columns
    for before, after in pairs:
        was = tuple(before.get(c) for c in columns)
        if any(v is None for v in was):
            continue  # a NULL references nothing
        if after is None:
            if edge.cascades_on(DELETE):
                old.setdefault(tuple(freeze(v) for v in was), DELETE)
            continue
        now = tuple(after.get(c) for c in columns)
        if tuple(map(freeze, now)) == tuple(map(freeze, was)) or not edge.cascades_on(UPDATE):
            continue
        old.setdefault(tuple(freeze(v) for v in was), UPDATE)
        if edge.key.on_update == "CASCADE" and not any(v is None for v in now):
            new.append(now)
    return old, new


def child_action(edge: Edge, parent_action: str) -> str:
    """What the server did to the child rows that referenced a deleted or updated parent row."""
    if parent_action == DELETE and edge.key.on_delete == "CASCADE":
        return DELETE
    return UPDATE  # their referencing columns were set to NULL, a default, or the new values


def reaches(following: Edge, edge: Edge, action: str) -> bool:
    """Whether child rows that underwent `action` through `edge` cascade further through
    `following` (a foreign key that references the child): a deleted row always can; an updated
    one only where the referenced columns are among those the cascade changed."""
    if not following.cascades_on(action):
        return False
    return action == DELETE or bool(set(following.key.parent_columns) & set(edge.key.columns))
