"""Derives the child rows a batch's parent changes cascaded to, which the binlog does not carry.

For each cascading foreign key (`mapping.cascades`): the referenced values a parent row had
before it was deleted or re-keyed are rendered as the child's items hold them, and the child's
items still holding them are found in DynamoDB (a consistent Query when the key's columns
include the item's HASH column, else one consistent Scan of the child table per batch); the
rows that ON UPDATE CASCADE gave the new values are found in the source through the foreign
key's own index. Both go to the child's applier as keys to re-read, so each ends equal to the
source's current row (or deleted). Child rows a cascade deleted or re-keyed are followed to
their own children the same way.
"""

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from botocore.client import BaseClient
from pymysql.connections import Connection

from jobs.catchup.applier import TableApplier
from jobs.dynamodb.tables import consistent_pages
from mapping.binlog import Batch, TableName
from mapping.cascades import UPDATE, Derived, Edge, changed_references, child_action, freeze, reaches
from mapping.identifiers import quote_identifier, quote_table
from mapping.items import from_wire
from mapping.keys import KeySchema
from mapping.templates import render

log = logging.getLogger("mysql2dynamodb")

CHUNK = 500  # values per INSERT
MAX_LEVELS = 16  # a chain of cascades deeper than this sets its table aside rather than guess

Values = Tuple[Optional[str], ...]


@dataclass
class _Reach:
    """An edge's work at one level: old referenced values (rendered) with the parent's action,
    and a SQL condition on the child for the rows that now hold new values."""

    edge: Edge
    old: Dict[Values, str] = field(default_factory=dict)
    typed: Dict[Tuple[object, ...], str] = field(default_factory=dict)  # old values as the binlog gives them
    condition: Optional[str] = None


class CascadeDeriver:
    def __init__(
        self, conn: Connection, client: BaseClient, appliers: Mapping[TableName, TableApplier], edges: Sequence[Edge]
    ):
        self.conn, self.client, self.appliers = conn, client, appliers
        self.edges = [e for e in edges if e.child in appliers]
        self.parents = {e.parent for e in self.edges}
        self.derived_items = 0

    def unmatchable(self, edge: Edge) -> Optional[str]:
        missing = [c for c in edge.key.columns if c not in self.appliers[edge.child].attribute]
        if missing:
            return (
                f"its foreign key {edge.key.name} cascades into column(s) {', '.join(missing)}, which are not migrated"
            )
        return None

    def derive(
        self, batch: Batch, active: Mapping[TableName, Any]
    ) -> Tuple[Dict[TableName, Derived], Dict[TableName, str]]:
        """Per child table, what to re-read; and the tables whose cascades cannot be followed, with why."""
        derived: Dict[TableName, Derived] = {}
        failed: Dict[TableName, str] = {}
        frontier = []
        for edge in self.edges:
            pairs = batch.parent_changes.get(edge.parent)
            if not pairs or edge.child not in active:
                continue
            old, new = changed_references(edge, pairs)
            if not old:
                continue
            reach = _Reach(edge, typed=old)
            if new:
                reach.condition = self._in_values(edge, new)
            frontier.append(reach)
        seen: Set[Tuple[Edge, Values]] = set()
        for level in range(MAX_LEVELS + 1):
            if not frontier:
                break
            if level == MAX_LEVELS:
                for reach in frontier:
                    failed[reach.edge.child] = f"cascades deeper than {MAX_LEVELS} levels"
                break
            frontier = self._step(frontier, batch, derived, failed, seen, active)
        return derived, failed

    def _step(
        self,
        frontier: List[_Reach],
        batch: Batch,
        derived: Dict[TableName, Derived],
        failed: Dict[TableName, str],
        seen: Set[Tuple[Edge, Values]],
        active: Mapping[TableName, Any],
    ) -> List[_Reach]:
        following: Dict[Edge, _Reach] = {}
        for reach in frontier:
            edge, child = reach.edge, reach.edge.child
            why = self.unmatchable(edge)
            if why:
                failed[child] = why
                continue
            applier = self.appliers[child]
            if reach.typed:
                for value, action in self._render(edge, reach.typed).items():
                    if (edge, value) not in seen:
                        seen.add((edge, value))
                        reach.old.setdefault(value, action)
            found = self._items_holding(applier, edge, reach.old)
            # Rows of the child changed in this batch itself to hold an old value: a cascade reached
            # them too, though their items do not show it yet.
            own = [
                (image, reach.typed[held])
                for image in batch.images.get(child, [])
                if (held := tuple(freeze(image.get(c)) for c in edge.key.columns)) in reach.typed
            ]
            self.derived_items += len(found)
            into = derived.setdefault(child, Derived())
            into.rendered_rows.extend({c: item.get(applier.attribute[c]) for c in applier.columns} for item, _ in found)
            if reach.condition:
                into.conditions.append(reach.condition)
            for nxt in self.edges:
                if nxt.parent != child or nxt.child not in active:
                    continue
                step = following.setdefault(nxt, _Reach(nxt))
                for item, action in found:
                    done = child_action(edge, action)
                    if not reaches(nxt, edge, done):
                        continue
                    attributes = [applier.attribute.get(c) for c in nxt.key.parent_columns]
                    if None in attributes:
                        failed[nxt.child] = (
                            f"its foreign key {nxt.key.name} references columns of {quote_table(*child)} "
                            f"that are not migrated"
                        )
                        continue
                    value = tuple(item.get(a) for a in attributes if a is not None)
                    if None not in value and (nxt, value) not in seen:
                        seen.add((nxt, value))
                        step.old.setdefault(value, done)
                for image, action in own:
                    done = child_action(edge, action)
                    typed = tuple(freeze(image.get(c)) for c in nxt.key.parent_columns)
                    if reaches(nxt, edge, done) and None not in typed:
                        step.typed.setdefault(typed, done)
                if reach.condition and nxt.key.on_update == "CASCADE" and reaches(nxt, edge, UPDATE):
                    condition = self._in_subquery(nxt, child, reach.condition)
                    step.condition = f"({step.condition}) OR ({condition})" if step.condition else condition
        return [r for r in following.values() if r.old or r.typed or r.condition]

    # ---- the source side ----

    def _render(self, edge: Edge, old: Dict[Tuple[object, ...], str]) -> Dict[Values, str]:
        """The binlog's typed values as the child's items hold them: through a temporary table of
        the child's own column types, rendered by the load's expressions."""
        applier = self.appliers[edge.child]
        columns = edge.key.columns
        temp = quote_table(edge.child[0], f"m2d_fk_{self.edges.index(edge)}")
        quoted = ", ".join(quote_identifier(c) for c in columns)
        rows = list(old.items())
        rendered: List[Tuple[Any, ...]] = []
        with self.conn.cursor() as cur:
            cur.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} "
                f"AS SELECT {quoted}, 0 AS m2d_n FROM {applier.source} LIMIT 0"
            )
            cur.execute(f"TRUNCATE TABLE {temp}")
            for start in range(0, len(rows), CHUNK):
                values = ", ".join(
                    "(" + ", ".join(applier.literal(c, v) for c, v in zip(columns, value)) + f", {n})"
                    for n, (value, _) in enumerate(rows[start : start + CHUNK], start)
                )
                cur.execute(f"INSERT INTO {temp} ({quoted}, m2d_n) VALUES {values}")
            cur.execute(f"SELECT m2d_n, {applier.render(columns)} FROM {temp}")
            rendered = list(cur.fetchall())
        return {tuple(r[1:]): rows[r[0]][1] for r in rendered}

    def _in_values(self, edge: Edge, new: List[Tuple[object, ...]]) -> str:
        applier = self.appliers[edge.child]
        quoted = ", ".join(quote_identifier(c) for c in edge.key.columns)
        tuples = ", ".join(
            "(" + ", ".join(applier.literal(c, v) for c, v in zip(edge.key.columns, value)) + ")" for value in new
        )
        return f"({quoted}) IN ({tuples})"

    def _in_subquery(self, edge: Edge, parent: TableName, parent_condition: str) -> str:
        columns = ", ".join(quote_identifier(c) for c in edge.key.columns)
        referenced = ", ".join(quote_identifier(c) for c in edge.key.parent_columns)
        return f"({columns}) IN (SELECT {referenced} FROM {quote_table(*parent)} WHERE {parent_condition})"

    # ---- the DynamoDB side ----

    def _items_holding(
        self, applier: TableApplier, edge: Edge, old: Dict[Values, str]
    ) -> List[Tuple[Dict[str, Optional[str]], str]]:
        """The child's items whose referencing attributes hold one of the old values, each with the
        parent's action; read consistently, so the previous batch's writes are seen."""
        attributes = [applier.attribute[c] for c in edge.key.columns]
        hash_values = _hash_values(applier.plan.key, edge.key.columns, old)
        if hash_values is None:
            items = list(self._pages("scan", applier, None))
        else:
            items = []
            for hash_value in hash_values:
                items.extend(self._pages("query", applier, hash_value))
        found = []
        for item in items:
            value = tuple(item.get(a) for a in attributes)
            if value in old:
                found.append((item, old[value]))
        return found

    def _pages(self, operation: str, applier: TableApplier, hash_value: Optional[str]):
        request: Dict[str, Any] = {"TableName": applier.plan.target}
        if operation == "query":
            request.update(
                KeyConditionExpression="#h = :h",
                ExpressionAttributeNames={"#h": applier.layout.hash_attribute},
                ExpressionAttributeValues={":h": {"S": hash_value}},
            )
        for raw in consistent_pages(self.client, operation, request):
            item = from_wire(raw, applier.layout.numbers)
            if applier.layout.claims(item):  # a shared table: only this source's items
                yield item


def _hash_values(key: KeySchema, columns: Sequence[str], old: Dict[Values, str]) -> Optional[Set[str]]:
    """The HASH values of the items that hold these old referencing values, when the referencing
    columns decide the HASH (the HASH column itself, or every column of a modelled HASH
    template); None when only a Scan finds them."""
    if key.templates:
        template = key.templates[0]
        if not set(template.columns) <= set(columns):
            return None
        rendered = (render(template, dict(zip(columns, value)))[0] for value in old)
        return {value for value in rendered if value is not None}
    if key.hash_column is None or key.hash_column not in columns:
        return None
    at = list(columns).index(key.hash_column)
    return {str(value[at]) for value in old if value[at] is not None}
