"""Applies one migrated table's row changes: put what the source has now, delete what it has not.

The binlog carries typed values, not MySQL's text, so no value from it is written as it is.
Changed keys go into a temporary table made from the source table's own columns (the server
converts and pads them exactly as it stores them); the item keys are rendered from there with
the load's own SQL expressions, and the current rows for those keys are read back through the
load's rendering query. Rows found are put, keys gone are deleted. Applying a range therefore
leaves each touched item equal to the source's current row: replaying a range, or a rerun
after a kill, converges on the same tables.
"""

import json
import time
from collections import Counter
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from botocore.client import BaseClient
from pymysql.connections import Connection

from jobs.config import Config
from jobs.dynamodb.tables import consistent_pages, table_write_rate
from jobs.dynamodb.writer import BatchWriter, RateLimiter
from jobs.errors import SourceError
from jobs.mysql.snapshot import consistent_snapshot
from jobs.table_job import TableJob
from mapping.binlog import Position, RowImage
from mapping.binlog_values import Inexact, exact_value
from mapping.cascades import Derived
from mapping.identifiers import quote_identifier, quote_table
from mapping.items import build_item, key_of, reject_record, to_wire, write_units
from mapping.keys import item_key_of, row_digest, row_id
from mapping.render import parse_sql

INSERT_CHUNK = 500  # rows per INSERT into a temporary table
VISIBILITY_WAIT_SECONDS = 10.0  # a commit the binlog sent is visible in InnoDB well within this


class InexactImage(Exception):
    """A changed row's image holds a value the binlog does not give exactly."""

    def __init__(self, column: str, why: str):
        super().__init__(f"column {quote_identifier(column)} holds {why}, which the binlog does not carry exactly")
        self.column = column


class TableApplier:
    """Applies one migrated table's row changes: put what the source has now, delete what it has not."""

    def __init__(self, conn: Connection, client: BaseClient, job: TableJob, config: Config, slot: int):
        self.conn, self.client, self.job, self.config = conn, client, job, config
        self.plan = job.plan
        self.layout = self.plan.layout(config.dynamodb.null_as)
        self.source = quote_table(self.plan.source.database, self.plan.source.name)
        self.keyed = not self.plan.key.synthesized_hash
        self.columns = list(self.plan.key.source_columns) if self.keyed else [c.name for c in self.plan.columns]
        self.slot = slot
        self.temp = quote_table(self.plan.source.database, f"m2d_catchup_{slot}")
        self.kinds = {c.name: c.data_type.lower() for c in self.plan.source.columns}
        self.column = {c.name: c for c in self.plan.source.columns}
        self.attribute = dict(zip((c.name for c in self.plan.columns), self.plan.attributes))
        assert job.description is not None, f"{job.name}: described before catching up"
        rate = table_write_rate(job.description, config.dynamodb, job.hash_values)
        self.limiter = RateLimiter(rate.start, ceiling=rate.ceiling, probe_seconds=config.dynamodb.climb_probe_seconds)
        self.changes = self.puts = self.deletes = self.rejected = 0
        self._created = False
        self._visible_through: Optional[Position] = None  # the changes being applied end here

    # ---- SQL: identifiers inside, values as escaped literals; nothing is %-formatted ----

    def _execute(self, sql: str) -> Sequence[Tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    def _current_rows(self, sql: str) -> Sequence[Tuple[Any, ...]]:
        """The source's rows as committed through the changes being applied, read without a lock.

        The binlog can send a transaction before the engine has committed it (the server writes
        the binlog, then commits in InnoDB), and a read in that window returns the old row. A
        shared-lock read would wait for the commit, but it also makes the application's own
        transactions wait, or be chosen as deadlock victims. Instead the rows are read in a
        consistent snapshot whose binlog position MariaDB names exactly: once that position is
        at or past the last change applied, the snapshot holds every change the binlog sent, and
        until then the snapshot is taken again. Where the server names no such position (MySQL),
        the read is a plain one (live verification compares again what was written)."""
        deadline = time.monotonic() + VISIBILITY_WAIT_SECONDS
        pause = 0.002
        while True:
            with consistent_snapshot(self.conn) as span:
                exact = span.low == span.high
                if self._visible_through is None or not exact or span.low >= self._visible_through:
                    return self._execute(sql)
            if time.monotonic() >= deadline:
                raise SourceError(
                    f"{self.source}: the source's snapshots did not reach the binlog position "
                    f"{self._visible_through} within {VISIBILITY_WAIT_SECONDS:.0f}s (at {span.low}): "
                    "a commit logged there is not visible"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.1)

    def literal(self, column: str, value: Any) -> str:
        kind = self.kinds.get(column, "")
        if value is not None and not isinstance(value, Inexact):
            value = exact_value(kind, value)
        if isinstance(value, Inexact):
            raise InexactImage(column, value.why)
        if isinstance(value, (set, frozenset)):
            value = ",".join(sorted(value))
        elif isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        elif kind == "bit" and isinstance(value, str):
            value = int(value, 2)
        elif isinstance(value, bool):
            value = int(value)
        return self.conn.escape(value)

    def _load_images(self, images: Sequence[RowImage], derived: Optional[Derived]) -> None:
        """The changed rows' key columns (every column of a keyless table) into the temporary
        table: the binlog's images, and the rows a cascade may have changed."""
        quoted = ", ".join(quote_identifier(c) for c in self.columns)
        if not self._created:
            self._execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.temp} AS SELECT {quoted} FROM {self.source} LIMIT 0"
            )
            self._created = True
        self._execute(f"TRUNCATE TABLE {self.temp}")
        values = ["(" + ", ".join(self.literal(c, image.get(c)) for c in self.columns) + ")" for image in images]
        if self.keyed:  # an update's before and after image mostly name one key: staged once
            values = list(dict.fromkeys(values))
        if derived is not None:
            values += ["(" + self._parsed(row) + ")" for row in derived.rendered_rows]
            for condition in derived.conditions:
                self._execute(
                    f"INSERT INTO {self.temp} ({quoted}) SELECT {quoted} FROM {self.source} WHERE {condition}"
                )
        for start in range(0, len(values), INSERT_CHUNK):
            self._execute(
                f"INSERT INTO {self.temp} ({quoted}) VALUES {', '.join(values[start : start + INSERT_CHUNK])}"
            )

    def _parsed(self, row: Mapping[str, Optional[str]]) -> str:
        """A row of rendered text (an item's) as SQL values of the table's own columns."""
        return ", ".join(
            "NULL" if row.get(c) is None else parse_sql(self.column[c], self.conn.escape(row[c])) for c in self.columns
        )

    def render(self, columns: Sequence[str]) -> str:
        position = {c.name: i for i, c in enumerate(self.plan.columns)}
        return ", ".join(self.plan.render_sql[position[c]] for c in columns)

    # ---- applying ----

    def apply(
        self,
        images: Sequence[RowImage],
        writer_factory: Callable[["TableApplier"], BatchWriter],
        rejects: List[Dict[str, Any]],
        derived: Optional[Derived] = None,
        visible_through: Optional[Position] = None,
    ) -> None:
        """visible_through: the binlog position the changes end at (the source is read as of it
        or later); None for a repair or a cascade, read as the source is now."""
        if not images and (derived is None or not (derived.rendered_rows or derived.conditions)):
            return
        self._visible_through = visible_through
        try:
            self._load_images(images, derived)
            whole_table = False
        except InexactImage:
            if self.keyed:
                raise  # the key that changed cannot be named: no item may be guessed
            whole_table = True
        writer = writer_factory(self)  # the table's, open for the whole catch-up: writes overlap the next reads
        if whole_table:
            writer.flush()  # it reads DynamoDB: what earlier batches wrote must be there
            self._reconcile_keyless(writer, rejects)
        elif self.keyed:
            self._apply_keyed(writer, rejects)  # reads only the source
        else:
            writer.flush()
            self._apply_keyless(writer, rejects)

    def _apply_keyed(self, writer: BatchWriter, rejects: List[Dict[str, Any]]) -> None:
        key = self.plan.key
        # Deduplicated here, as the exact text: SQL's DISTINCT would fold keys its collation holds
        # equal ('abc' and 'ABC' in a case-insensitive one), and one of them would never be deleted.
        rendered_keys = {tuple(row) for row in self._execute(f"SELECT {self.render(self.columns)} FROM {self.temp}")}
        quoted = ", ".join(quote_identifier(c) for c in key.lookup_columns)
        rows = self._current_rows(
            f"SELECT {', '.join(self.plan.render_sql)} FROM {self.source} "
            f"WHERE ({quoted}) IN (SELECT {quoted} FROM {self.temp})"
        )
        present = set()
        for row in rows:
            item, size, reason = build_item(self.plan.layout_row(row), self.layout)  # a keyed table
            present.add(key_of(item, self.layout))
            if reason is not None:
                rejects.append(self._reject(item, reason, size))
                self.rejected += 1
                self._delete(writer, key_of(item, self.layout))  # the old item no longer stands for the row
                continue
            writer.put(to_wire(item, self.layout.numbers), size, write_units(size))
        for values in rendered_keys:
            item_key = item_key_of(values, key)
            if item_key is not None and item_key not in present:
                self._delete(writer, item_key)

    def _reject(self, item: Dict[str, Any], reason: str, size: int) -> Dict[str, Any]:
        return reject_record(self.plan.source.database, self.plan.source.name, item, self.layout, reason, size)

    def _delete(self, writer: BatchWriter, item_key: Tuple[Any, ...]) -> None:
        if any(v is None or v == "" for v in item_key):
            return  # no item can have such a key
        writer.delete({a: {"S": v} for a, v in zip(self.layout.item_key, item_key)})

    def _apply_keyless(self, writer: BatchWriter, rejects: List[Dict[str, Any]]) -> None:
        """Identical rows are numbered <digest>, <digest>#2, ...: put as many as the source has now,
        delete the rest. One scan of the source per batch: its rows whose content is among the
        changed ones (a semi-join the server answers with one pass), counted here as exact text."""
        images = Counter(tuple(r) for r in self._execute(f"SELECT {', '.join(self.plan.render_sql)} FROM {self.temp}"))
        contents = list(images)
        matches = self._current_rows(
            f"SELECT {', '.join(self.plan.render_sql)} FROM {self.source} "
            f"WHERE ({self._exact('')}) IN (SELECT {self._exact('d.')} FROM {self.temp} AS d)"
        )
        counts = Counter(tuple(r) for r in matches)
        above: Dict[str, Tuple[int, int]] = {}  # digest -> (first ordinal beyond the source's count, how many to probe)
        for content in contents:
            values, count = list(content), counts.get(content, 0)
            digest = row_digest(values)
            for ordinal in range(1, count + 1):
                item, size, reason = build_item([*values, row_id(digest, ordinal)], self.layout)
                if reason is not None:
                    rejects.append(self._reject(item, reason, size))
                    self.rejected += 1
                    continue
                writer.put(to_wire(item, self.layout.numbers), size, write_units(size))
            above[digest] = (count + 1, images[content])  # at most that many rows can have left it
        self._delete_beyond(writer, above)

    def _reconcile_keyless(self, writer: BatchWriter, rejects: List[Dict[str, Any]]) -> None:
        """A changed row's content cannot be named from the binlog (a zero date, ...), so the
        whole table is compared instead: the source's contents counted (one scan), DynamoDB's
        item keys (one Scan); missing items put, items beyond the source's counts deleted."""
        wanted: Dict[str, List[Any]] = {}
        for content, count in Counter(
            tuple(r) for r in self._current_rows(f"SELECT {', '.join(self.plan.render_sql)} FROM {self.source}")
        ).items():
            digest = row_digest(list(content))
            for ordinal in range(1, count + 1):
                wanted[row_id(digest, ordinal)] = list(content)
        held = self._item_keys()
        attribute = self.layout.hash_attribute
        for key in held - wanted.keys():
            writer.delete({attribute: {"S": key}})
        for key in wanted.keys() - held:
            item, size, reason = build_item([*wanted[key], key], self.layout)
            if reason is not None:
                rejects.append(self._reject(item, reason, size))
                self.rejected += 1
                continue
            writer.put(to_wire(item, self.layout.numbers), size, write_units(size))

    def _item_keys(self) -> set:
        attribute = self.layout.hash_attribute
        request = {
            "TableName": self.plan.target,
            "ProjectionExpression": "#k",
            "ExpressionAttributeNames": {"#k": attribute},
        }
        return {item[attribute]["S"] for item in consistent_pages(self.client, "scan", request)}

    def _exact(self, prefix: str) -> str:
        """Each column as its bytes, and whether it is NULL: equal only when byte for byte equal
        (a collation would count 'Bob' and 'bob', or 'a' and 'a ', as one content)."""
        return ", ".join(
            f"{prefix}{quote_identifier(c)} IS NULL, BINARY IFNULL({prefix}{quote_identifier(c)}, '')"
            for c in self.columns
        )

    def _delete_beyond(self, writer: BatchWriter, above: Dict[str, Tuple[int, int]]) -> None:
        """Items of rows no longer there: as many as DynamoDB still holds past each count, asked
        100 keys a call (BatchGetItem). Each content is probed as far as this batch's images of
        it reach, plus one, so one round usually finds them all; a content whose last probe
        was found (DynamoDB held more) is probed further."""
        attribute = self.layout.hash_attribute
        while above:
            probes = [(d, n) for d, (first, width) in above.items() for n in range(first, first + width + 1)]
            found = set()
            for start in range(0, len(probes), 100):
                found |= self._existing([{attribute: {"S": row_id(d, n)}} for d, n in probes[start : start + 100]])
            following = {}
            for digest, (first, width) in above.items():
                for ordinal in range(first, first + width + 1):
                    if row_id(digest, ordinal) in found:
                        writer.delete({attribute: {"S": row_id(digest, ordinal)}})
                if row_id(digest, first + width) in found:
                    following[digest] = (first + width + 1, width)
            above = following

    def _existing(self, keys: List[Dict[str, Any]]) -> set:
        attribute = self.layout.hash_attribute
        request = {
            self.plan.target: {
                "Keys": keys,
                "ProjectionExpression": "#k",
                "ExpressionAttributeNames": {"#k": attribute},
            }
        }
        found = set()
        while request:
            answer = self.client.batch_get_item(RequestItems=request)
            found |= {item[attribute]["S"] for item in answer["Responses"].get(self.plan.target, [])}
            request = answer.get("UnprocessedKeys") or {}
        return found
