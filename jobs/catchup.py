"""Catch-up (--catch-up): apply the binlog from a recorded position to the migrated tables.

Driver only (pymysql, mysql-replication, boto3): no Spark. The binlog carries typed
values, not MySQL's text, so no value from it is written as it is. Changed keys go into
a temporary table made from the source table's own columns (the server converts and pads
them exactly as it stores them); the item keys are rendered from there with the load's
own SQL expressions, and the current rows for those keys are read back through the load's
rendering query. Rows found are put, keys gone are deleted. Applying a range therefore
leaves each touched item equal to the source's current row: replaying a range, or a rerun
after a kill, converges on the same tables. Positions are saved only at transaction ends,
after everything before them is applied.
"""
import json
import logging
import signal
import time
from typing import Dict, List, Optional, Sequence, Tuple

from jobs import storage
from jobs.mysql import binlog
from jobs.mysql.binlog import Position
from jobs.dynamodb.tables import table_write_rate
from jobs.errors import TargetError, one_line
from jobs.report import CAUGHT_UP, FAILED, Report
from jobs.dynamodb.writer import BatchWriter, RateLimiter
from mapping.identifiers import quote_identifier, quote_table
from mapping.items import build_item, key_of, reject_record, to_wire, write_units
from mapping.keys import encode_composite, row_digest, row_id

log = logging.getLogger("mysql2dynamodb")

INSERT_CHUNK = 500  # rows per INSERT into a temporary table


def state_file(config) -> str:
    return storage.join(config.output.state, "catchup.json")


def saved_position(config) -> Optional[Position]:
    path = state_file(config)
    if not storage.exists(path):
        return None
    body = json.loads(storage.read_text(path))
    return Position(body["binlog_file"], int(body["binlog_position"]))


def save_position(config, position: Position) -> None:
    storage.write_text(state_file(config), json.dumps(position.as_dict()))


class TableApplier:
    """Applies one migrated table's row changes: put what the source has now, delete what it has not."""

    def __init__(self, conn, client, job, config, slot: int):
        self.conn, self.client, self.job, self.config = conn, client, job, config
        self.plan = job.plan
        self.layout = self.plan.layout(config.dynamodb.null_as)
        self.source = quote_table(self.plan.source.database, self.plan.source.name)
        self.keyed = not self.plan.key.synthesized_hash
        self.columns = list(self.plan.key.source_columns) if self.keyed else [c.name for c in self.plan.columns]
        self.temp = quote_table(self.plan.source.database, f"m2d_catchup_{slot}")
        self.kinds = {c.name: c.data_type.lower() for c in self.plan.source.columns}
        rate = table_write_rate(job.description, config.dynamodb, job.hash_values)
        self.limiter = RateLimiter(rate.start, ceiling=rate.ceiling)
        self.changes = self.puts = self.deletes = self.rejected = 0
        self._created = False

    # ---- SQL: identifiers inside, values as escaped literals; nothing is %-formatted ----

    def _execute(self, sql: str):
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    def _literal(self, column: str, value) -> str:
        kind = self.kinds.get(column, "")
        if isinstance(value, (set, frozenset)):
            value = ",".join(sorted(value))
        elif isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        elif kind == "bit" and isinstance(value, str):
            value = int(value, 2)
        elif isinstance(value, bool):
            value = int(value)
        return self.conn.escape(value)

    def _load_images(self, images: Sequence[Dict]) -> None:
        quoted = ", ".join(quote_identifier(c) for c in self.columns)
        if not self._created:
            self._execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.temp} AS SELECT {quoted} FROM {self.source} LIMIT 0")
            self._created = True
        self._execute(f"TRUNCATE TABLE {self.temp}")
        for start in range(0, len(images), INSERT_CHUNK):
            rows = ", ".join("(" + ", ".join(self._literal(c, image.get(c)) for c in self.columns) + ")"
                             for image in images[start:start + INSERT_CHUNK])
            self._execute(f"INSERT INTO {self.temp} ({quoted}) VALUES {rows}")

    def _render(self, columns: Sequence[str]) -> str:
        position = {c.name: i for i, c in enumerate(self.plan.columns)}
        return ", ".join(self.plan.render_sql[position[c]] for c in columns)

    def _values(self, rendered: Sequence) -> List:
        """A rendered source row in the layout's order: columns, then the synthesised RANGE."""
        values = list(rendered)
        key = self.plan.key
        if key.synthesized_range:
            position = {c.name: i for i, c in enumerate(self.plan.columns)}
            values.append(encode_composite(rendered[position[c]] for c in key.range_columns))
        return values

    # ---- applying ----

    def apply(self, images: List[Dict], writer_factory, rejects: List[Dict]) -> None:
        if not images:
            return
        self._load_images(images)
        writer = writer_factory(self)
        with writer:
            if self.keyed:
                self._apply_keyed(writer, rejects)
            else:
                self._apply_keyless(writer, rejects)
        self.puts += writer.written
        self.deletes += writer.deleted

    def _apply_keyed(self, writer, rejects: List[Dict]) -> None:
        key = self.plan.key
        rendered_keys = self._execute(f"SELECT DISTINCT {self._render(self.columns)} FROM {self.temp}")
        quoted = ", ".join(quote_identifier(c) for c in self.columns)
        rows = self._execute(f"SELECT {', '.join(self.plan.render_sql)} FROM {self.source} "
                             f"WHERE ({quoted}) IN (SELECT {quoted} FROM {self.temp})")
        present = set()
        for row in rows:
            item, size, reason = build_item(self._values(row), self.layout)
            present.add(key_of(item, self.layout))
            if reason is not None:
                rejects.append(self._reject(item, reason, size))
                self.rejected += 1
                self._delete(writer, key_of(item, self.layout))  # the old item no longer stands for the row
                continue
            writer.put(to_wire(item), size, write_units(size))
        for values in rendered_keys:
            hash_value = values[0]
            if key.synthesized_range:
                range_value = encode_composite(values[1:])
            else:
                range_value = values[1] if key.range_attribute else None
            item_key = (hash_value, range_value) if key.range_attribute else (hash_value,)
            if item_key not in present:
                self._delete(writer, item_key)

    def _reject(self, item: Dict, reason: str, size: int) -> Dict:
        return reject_record(self.plan.source.database, self.plan.source.name, item, self.layout, reason, size)

    def _delete(self, writer, item_key: Tuple) -> None:
        if any(v is None or v == "" for v in item_key):
            return  # no item can have such a key
        writer.delete({a: {"S": v} for a, v in zip(self.layout.item_key, item_key)})

    def _apply_keyless(self, writer, rejects: List[Dict]) -> None:
        """Identical rows are numbered <digest>, <digest>#2, ...: put as many as the source has now,
        delete the rest."""
        same = " AND ".join(f"s.{quote_identifier(c)} <=> d.{quote_identifier(c)}" for c in self.columns)
        rendered = ", ".join(self.plan.render_sql)  # on the derived table d: the images as stored
        rows = self._execute(f"SELECT {rendered}, (SELECT COUNT(*) FROM {self.source} AS s WHERE {same}) "
                             f"FROM (SELECT DISTINCT * FROM {self.temp}) AS d")
        for row in rows:
            values, count = list(row[:-1]), int(row[-1])
            digest = row_digest(values)
            for ordinal in range(1, count + 1):
                item, size, reason = build_item(values + [row_id(digest, ordinal)], self.layout)
                if reason is not None:
                    rejects.append(self._reject(item, reason, size))
                    self.rejected += 1
                    continue
                writer.put(to_wire(item), size, write_units(size))
            ordinal = count + 1
            while True:  # items of rows no longer there: as many as DynamoDB still holds
                item_key = {self.layout.hash_attribute: {"S": row_id(digest, ordinal)}}
                if "Item" not in self.client.get_item(TableName=self.plan.target, Key=item_key,
                                                      ProjectionExpression="#k",
                                                      ExpressionAttributeNames={"#k": self.layout.hash_attribute}):
                    break
                writer.delete(item_key)
                ordinal += 1


def check_preconditions(conn) -> None:
    binlog.check_server(conn)
    binlog.check_privileges(conn)


def run_catch_up(config, conn, client, jobs, report: Report, connection_settings: Dict) -> None:
    """Apply the binlog to every planned table; fills report.catch_up and the tables' lines."""
    start, gtid = binlog.start_position(config.catch_up)
    saved = saved_position(config)
    if start is not None and saved is not None and saved > start:
        log.info("catch-up: %s was applied by an earlier run; continuing from there", saved)
        start = saved
    if start is not None:
        binlog.check_position(conn, start)
    for job in jobs:
        try:
            job.description = client.describe_table(TableName=job.plan.target)["Table"]
        except Exception as e:  # noqa: BLE001 - the table must have been loaded first
            raise TargetError(f"DynamoDB table {job.plan.target} for {job.name} cannot be used: {one_line(e)}; "
                              f"load the table before catching up") from e
    target = None if config.catch_up.follow else binlog.current_position(conn)
    appliers = {job.identity: TableApplier(conn, client, job, config, n) for n, job in enumerate(jobs)}
    version = conn.get_server_info() if hasattr(conn, "get_server_info") else ""
    outcome = CatchUp(config, appliers, target).run(
        binlog.events(connection_settings, config.catch_up.server_id, start, gtid, config.catch_up.follow,
                      "mariadb" in version.lower()), start)
    report.catch_up = outcome
    for job in jobs:
        applier = appliers[job.identity]
        job.result.status = FAILED if outcome.get("stopped_at_ddl") == list(job.identity) else CAUGHT_UP
        job.result.rows_read, job.result.items_written = applier.changes, applier.puts
        job.result.items_deleted, job.result.rejected = applier.deletes, applier.rejected
    if outcome.get("error"):
        report.error = outcome["error"]


class CatchUp:
    """The event loop: gather row images per table, apply them at transaction ends, save the position."""

    def __init__(self, config, appliers: Dict[Tuple[str, str], TableApplier], target: Optional[Position]):
        self.config = config
        self.appliers = appliers
        self.target = target
        self.pending: Dict[Tuple[str, str], List[Dict]] = {}
        self.pending_rows = 0
        self.rejects: List[Dict] = []
        self.stop_requested = False

    def _writer(self, applier: TableApplier) -> BatchWriter:
        return BatchWriter(applier.client, applier.plan.target, applier.layout.item_key, applier.limiter,
                           self.config.dynamodb.max_retry_seconds)

    def apply_pending(self, applied: Optional[Position]) -> None:
        for identity, images in self.pending.items():
            self.appliers[identity].apply(images, self._writer, self.rejects)
        self.pending, self.pending_rows = {}, 0
        if self.rejects:
            path = storage.join(self.config.output.rejects, "catch-up",
                                f"rejects-{applied or 'end'}-{int(time.time())}.jsonl".replace(":", "_"))
            storage.write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.rejects))
            self.rejects = []
        if applied is not None:
            save_position(self.config, applied)

    def run(self, stream, start: Optional[Position]) -> Dict:
        from pymysqlreplication.event import HeartbeatLogEvent, QueryEvent, XidEvent
        from pymysqlreplication.row_event import UpdateRowsEvent

        started = time.monotonic()
        follow = self.config.catch_up.follow
        if follow:
            signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stop_requested", True))
        outcome = {"start": start.as_dict() if start else {"gtid": self.config.catch_up.from_gtid},
                   "target": self.target.as_dict() if self.target else None}
        boundary, events, last_log, lag = start, 0, time.monotonic(), 0.0
        if self.target is not None and start is not None and start >= self.target:
            outcome.update(end=start.as_dict(), stopped="already at the server's position", events=0)
            return self._finish(outcome, started, 0)
        for position, event in stream:
            if isinstance(event, HeartbeatLogEvent):
                lag = 0.0
            elif isinstance(event, QueryEvent):
                query = event.query if isinstance(event.query, str) else event.query.decode("utf-8", "replace")
                schema = event.schema.decode() if isinstance(event.schema, bytes) else (event.schema or "")
                changed = binlog.ddl_table(query, schema, self.appliers)
                if changed is not None:
                    self.apply_pending(boundary)
                    name = quote_table(*changed)
                    outcome.update(end=(boundary or position).as_dict(), stopped_at_ddl=list(changed),
                                   error=f"DDL on {name} at {position} ({query.strip()[:120]}): catch-up stopped "
                                         f"before it at {boundary}; reload {name} (--tables '{changed[0]}.{changed[1]}'),"
                                         f" then catch up from the new load's report")
                    return self._finish(outcome, started, events)
                if query.strip().upper() != "BEGIN":
                    boundary = position
            elif isinstance(event, XidEvent):
                boundary = position
                if self.pending_rows >= self.config.catch_up.batch_rows:
                    self.apply_pending(boundary)
            else:  # row events
                identity = (event.schema, event.table)
                if identity in self.appliers:
                    images = self.pending.setdefault(identity, [])
                    for row in event.rows:
                        if isinstance(event, UpdateRowsEvent):
                            images += [row["before_values"], row["after_values"]]
                        else:
                            images.append(row["values"])
                        self.appliers[identity].changes += 1
                        self.pending_rows += 1
                        events += 1
                    lag = max(0.0, time.time() - event.timestamp)
            if time.monotonic() - last_log >= self.config.spark.progress_seconds:
                last_log = time.monotonic()
                log.info("catch-up: at %s, %d row change(s) read, lag %.0fs", position, events, lag)
            if self.target is not None and position >= self.target and boundary == position:
                break
            if follow and (self.stop_requested or (self.config.catch_up.max_seconds
                                                   and time.monotonic() - started >= self.config.catch_up.max_seconds)):
                break
        self.apply_pending(boundary)
        reason = "SIGTERM" if self.stop_requested else (
            "max-seconds" if follow else "reached the server's position at the start")
        outcome.update(end=(boundary.as_dict() if boundary else None), stopped=reason)
        return self._finish(outcome, started, events)

    def _finish(self, outcome: Dict, started: float, events: int) -> Dict:
        seconds = time.monotonic() - started
        outcome.update(row_changes=events, seconds=round(seconds, 2),
                       changes_per_second=round(events / seconds, 1) if seconds > 0 else 0.0)
        return outcome
