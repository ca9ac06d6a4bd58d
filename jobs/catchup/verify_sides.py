"""One table's two sides for live verification, as item key -> item digest: the source's rows
built into items exactly as the load builds them (rejected rows left out, as verification
leaves them out), and DynamoDB's items. Whole tables, or the items of given keys. Reads are
paced to `rows_per_second`, each side on its own."""

import logging
import threading
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from pymysql.connections import Connection

from jobs.dynamodb.item_reads import get_items, scan_items
from jobs.dynamodb.tables import consistent_pages
from jobs.mysql.snapshot import stream_rows
from jobs.planner import TablePlan
from mapping.identifiers import quote_identifier, quote_table
from mapping.items import build_item, from_wire, item_digest, key_of
from mapping.keys import key_column_values, row_digest, row_id
from mapping.live_verify import key_text
from mapping.render import parse_sql

log = logging.getLogger("mysql2dynamodb")
IN_LIST_KEYS = 500  # keys per `WHERE (key) IN (...)`
Digests = Dict[str, int]


class Pace:
    """At most `per_second` things a second, on average since the start (0: no limit); shared by
    the threads that read one side (rounds and background whole passes keep one bound). Rounds
    take without waiting: they are the cut-over's path and read only the keys that changed; the
    whole passes wait out what the rounds read too, so the bound holds on average."""

    def __init__(self, per_second: float):
        self.per_second = per_second
        self.started = time.monotonic()
        self.taken = 0
        self.lock = threading.Lock()

    def take(self, count: int, wait: bool = True) -> None:
        with self.lock:
            self.taken += count
            ahead = self.taken / self.per_second - (time.monotonic() - self.started) if self.per_second > 0 else 0
        if ahead > 0 and wait:
            time.sleep(ahead)


class ReadCount:
    """Rows and items a whole pass has read so far, logged every `seconds` (long comparisons
    show that they move)."""

    def __init__(self, name: str, seconds: float):
        self.name, self.seconds = name, seconds
        self.rows = self.items = 0
        self.started = self.logged = time.monotonic()

    def restart(self) -> None:
        self.rows = self.items = 0
        self.started = self.logged = time.monotonic()

    def add(self, rows: int = 0, items: int = 0) -> None:
        self.rows += rows
        self.items += items
        now = time.monotonic()
        if self.seconds > 0 and now - self.logged >= self.seconds:
            self.logged = now
            rate = (self.rows + self.items) / max(now - self.started, 1e-9)
            log.info(
                "live verify: %s whole pass: %d source rows and %d DynamoDB items read so far (%.0f/s)",
                self.name,
                self.rows,
                self.items,
                rate,
            )


class TableSides:
    def __init__(
        self,
        plan: TablePlan,
        null_as: str,
        conn: Connection,
        client,
        rows_per_second: float,
        segments: int = 4,
        paces: Optional[Tuple[Pace, Pace]] = None,
        progress_seconds: float = 0,
    ):
        self.plan, self.conn, self.client, self.segments = plan, conn, client, segments
        self.layout = plan.layout(null_as)
        self.keyed = not plan.key.synthesized_hash
        self.source = quote_table(plan.source.database, plan.source.name)
        self.column = {c.name: c for c in plan.source.columns}
        self.source_pace, self.target_pace = paces or (Pace(rows_per_second), Pace(rows_per_second))
        self.contents: Dict[str, List[Optional[str]]] = {}  # keyless: the rows of keys a whole pass found
        self.read = ReadCount(plan.name, progress_seconds)

    # ---- the source (called inside a consistent snapshot) ----

    def source_pairs(
        self, keep: Optional[Callable[[str], bool]] = None, part: Optional[str] = None
    ) -> Iterator[Tuple[str, int]]:
        """Every item the source's rows make, as (key, digest), streamed; `part`: only one
        partition's rows (its SELECT, keyed tables). Keyless tables: their copies counted by the
        server (GROUP BY the rendered text, compared as bytes), so no row is held here; the
        contents of the keys `keep` admits are kept for a repair."""
        if self.keyed:
            sql = part or f"SELECT {', '.join(self.plan.render_sql)} FROM {self.source}"
            yield from self._keyed_digests(self._paced(stream_rows(self.conn, sql)))
            return
        with self.conn.cursor() as cur:  # GROUP BY compares long values whole, not their first 1 KB
            cur.execute("SET SESSION max_sort_length = 8388608")
        for *content, count in self._paced(stream_rows(self.conn, self._copies_sql())):
            digest = row_digest(content)
            for ordinal in range(1, int(count) + 1):
                item, _, reason = build_item([*content, row_id(digest, ordinal)], self.layout)
                if reason is None:
                    key = key_text(key_of(item, self.layout))
                    if keep is not None and keep(key):
                        self.contents[key] = list(content)
                    yield key, item_digest(item)

    def _copies_sql(self) -> str:
        """Each distinct rendered row once, with how many rows render to it. Grouped by the bytes
        (a collation would merge 'a' and 'A', or trailing spaces)."""
        exprs = self.plan.render_sql
        picked = ", ".join(f"MIN({e})" for e in exprs)
        grouped = ", ".join(f"CAST({e} AS BINARY)" for e in exprs)
        return f"SELECT {picked}, COUNT(*) FROM {self.source} GROUP BY {grouped}"

    def source_for(self, keys: Iterable[str]) -> Digests:
        """Keyed tables: the source's items of these keys (a key with no row is absent)."""
        key = self.plan.key
        columns = key.lookup_columns  # a modelled key's row: by the row's own key, wherever its item is now
        at = [key.source_columns.index(c) for c in columns]
        quoted = ", ".join(quote_identifier(c) for c in columns)
        tuples = [self._sql_tuple(columns, [values[i] for i in at]) for values in self._key_values(keys)]
        found: Digests = {}
        for start in range(0, len(tuples), IN_LIST_KEYS):
            sql = (
                f"SELECT {', '.join(self.plan.render_sql)} FROM {self.source} "
                f"WHERE ({quoted}) IN ({', '.join(tuples[start : start + IN_LIST_KEYS])})"
            )
            found.update(self._keyed_digests(self._paced(stream_rows(self.conn, sql), wait=False)))
        return found

    def _keyed_digests(self, rows: Iterable[Sequence[Optional[str]]]) -> Iterator[Tuple[str, int]]:
        for row in rows:
            item, _, reason = build_item(self.plan.layout_row(row), self.layout)
            if reason is None:
                yield key_text(key_of(item, self.layout)), item_digest(item)

    def _key_values(self, keys: Iterable[str]) -> Iterator[Tuple[str, ...]]:
        import json

        for key in keys:
            values = key_column_values(json.loads(key), self.plan.key)
            if values is not None:
                yield values

    def _sql_tuple(self, columns: Sequence[str], values: Sequence[str]) -> str:
        return "(" + ", ".join(parse_sql(self.column[c], self.conn.escape(v)) for c, v in zip(columns, values)) + ")"

    def _paced(self, rows: Iterable[Any], wait: bool = True) -> Iterator[Any]:
        for number, row in enumerate(rows, 1):
            if number % 100 == 0:
                self.source_pace.take(100, wait)
                if wait:  # a whole pass's progress
                    self.read.add(rows=100)
            yield row

    # ---- DynamoDB ----

    def target_all(self) -> Iterator[Tuple[str, int, Dict[str, Optional[str]]]]:
        return self._target_items(scan_items(self.client, self.plan.target, self.segments))

    def target_segment(self, segment: int, segments: int) -> Iterator[Tuple[str, int, Dict[str, Optional[str]]]]:
        """One Scan segment's items, read consistently (a task of a spread whole pass)."""
        request = {"TableName": self.plan.target, "Segment": segment, "TotalSegments": segments}
        return self._target_items(consistent_pages(self.client, "scan", request))

    def _target_items(self, raws: Iterable[Dict[str, Any]]) -> Iterator[Tuple[str, int, Dict[str, Optional[str]]]]:
        """(key, digest, item) of each scanned item, paced, counted for the progress lines."""
        for number, raw in enumerate(raws, 1):
            if number % 100 == 0:
                self.target_pace.take(100)
                self.read.add(items=100)
            item = from_wire(raw, self.layout.numbers)
            if self.layout.claims(item):
                yield key_text(key_of(item, self.layout)), item_digest(item), item

    def target_for(self, keys: Iterable[str]) -> Digests:
        import json

        wire_keys = [{a: {"S": v} for a, v in zip(self.layout.item_key, json.loads(key))} for key in keys]
        self.target_pace.take(len(wire_keys), wait=False)  # a round: see Pace
        items = (from_wire(raw, self.layout.numbers) for raw in get_items(self.client, self.plan.target, wire_keys))
        return {key_text(key_of(item, self.layout)): item_digest(item) for item in items if self.layout.claims(item)}

    def rendered_row(self, item: Dict[str, Optional[str]]) -> Dict[str, Optional[str]]:
        """An item's values as a row of its columns' text (what a repair re-reads by)."""
        return {c.name: item.get(a) for c, a in zip(self.plan.columns, self.plan.attributes)}
