"""Catch-up (--catch-up): apply the binlog from a recorded position to the migrated tables.

Driver only (pymysql, mysql-replication, boto3): no Spark. The binlog's events become the
pure event kinds of `mapping.binlog` (`jobs.mysql.binlog`); its `Batcher` decides where
transactions end and when a batch is due; each table's `TableApplier` applies a batch by
re-reading the changed rows from the source. Each table has its own applied position in
the state (`jobs.catchup.starts`): a table's changes at or before it are skipped, and it is
moved only at transaction ends, after everything before them is applied. A statement the
catch-up cannot apply marks its table "needs reload"; the other tables go on.
"""

import json
import logging
import signal
import time
from typing import Dict, Iterator, List, Optional, Sequence, Set

import pymysql
from botocore.client import BaseClient
from pymysql.connections import Connection

from jobs import storage
from jobs.catchup.applier import InexactImage, TableApplier
from jobs.catchup.cascades import CascadeDeriver
from jobs.catchup.follower_view import FollowerView, RecordingWriter
from jobs.catchup.live_verify import LiveVerifier
from jobs.catchup.spread import build_spread
from jobs.catchup.starts import resolve
from jobs.config import Config
from jobs.dynamodb.writer import BatchWriter
from jobs.errors import one_line
from jobs.mysql import binlog
from jobs.mysql.binlog_ahead import events_read_ahead
from jobs.mysql.connection import connect
from jobs.report import BEHIND, CAUGHT_UP, FAILED, NEEDS_RELOAD, Report
from jobs.state import State
from jobs.table_job import TableJob
from mapping.binlog import (
    ApplyBatch,
    Batch,
    Batcher,
    Event,
    Heartbeat,
    Position,
    RowsChanged,
    TableName,
    TableNeedsReload,
)
from mapping.binlog_values import lenient_sql_mode
from mapping.cascades import Derived, cascading_edges
from mapping.identifiers import quote_table
from mapping.live_verify import CutOver
from mapping.statements import changes_rows, tables_changed

log = logging.getLogger("mysql2dynamodb")
SETTLE_SECONDS = 1.0  # how often positions are recorded: writes in flight are waited for then

CUT_OVER_CHECK_SECONDS = 0.5  # how often live verification's verdicts (and the fence) are looked at
DRAIN_SECONDS = 10.0  # a follower told to stop first applies what the server has, for at most this long
VERIFIED = "verified through the fence"


def _position_dict(position: Optional[Position], server: str) -> Optional[Dict]:
    return dict(position.as_dict(), server=server) if position is not None else None


def _start_purged(conn: Connection, job: TableJob, start: Optional[Position], state: State) -> bool:
    """A table whose start is no longer on the server needs a reload, recorded so: the reload then
    repairs the items of rows changed in the purged gap (deleted ones included), as it does for
    any table set aside. A start past the end of its binlog is an error of the run (raised)."""
    try:
        if start is not None:
            binlog.check_position(conn, start)
        return False
    except binlog.PositionPurged as e:
        reason = f"{e}: reload it (--tables '{job.identity[0]}.{job.identity[1]}'), then catch up again"
        state.mark_needs_reload(job.identity, reason)
        job.fail(NEEDS_RELOAD, reason)
        log.error("%s: %s", job.name, reason)
        return True


def check_preconditions(conn: Connection) -> None:
    binlog.check_server(conn)
    binlog.check_row_metadata(conn)
    binlog.check_privileges(conn)


def run_catch_up(
    config: Config,
    conn: Connection,
    client: BaseClient,
    jobs: Sequence[TableJob],
    report: Report,
    connection_settings: Dict,
    spark=None,
) -> None:
    """Apply the binlog to every planned table, each from its own position; fills
    report.catch_up and the tables' lines. A table that cannot be caught up (no position,
    marked for reload) is named and fails alone; the others go on. `spark`: under
    spark-submit, live verification's whole passes of big tables run on it."""
    state = State.load(config.output.state)
    server = report.source_position.get("server", "")
    with conn.cursor() as cur:  # no locking read anywhere: the application never waits for the catch-up
        cur.execute("SELECT @@SESSION.sql_mode")
        # the binlog's exact values back into a table of the source's columns, as they are
        cur.execute("SET SESSION sql_mode = %s", (lenient_sql_mode(cur.fetchone()[0]),))
    starts = resolve(config.catch_up, state, jobs, server)
    active = []
    for job in jobs:
        reload_reason = state.needs_reload(job.identity)
        reason = reload_reason or starts.missing.get(job.identity)
        if reason:
            job.fail(NEEDS_RELOAD if reload_reason else FAILED, reason)
            log.error("%s: %s", job.name, reason)
            continue
        try:
            job.description = client.describe_table(TableName=job.plan.target)["Table"]
        except Exception as e:  # noqa: BLE001 - the table must have been loaded first
            job.fail(
                FAILED,
                f"DynamoDB table {job.plan.target} cannot be used: {one_line(e)}; load the table before catching up",
            )
            log.error("%s: %s", job.name, job.result.error)
            continue
        if _start_purged(conn, job, starts.tables.get(job.identity), state):
            continue
        active.append(job)
    if not active:
        report.error = "catch-up: no table can be caught up: " + "; ".join(f"{j.name}: {j.result.error}" for j in jobs)
        return
    start = starts.earliest([job.identity for job in active])  # each start was checked on the server above
    target = None if config.catch_up.follow else binlog.current_position(conn)
    appliers = {job.identity: TableApplier(conn, client, job, config, n) for n, job in enumerate(active)}
    version = conn.get_server_info() if hasattr(conn, "get_server_info") else ""
    edges = cascading_edges({job.identity: job.plan.source.foreign_keys for job in active})
    stream = events_read_ahead(
        {
            "conn_settings": connection_settings,
            "server_id": config.catch_up.server_id,
            "start": start,
            "gtid": starts.gtid,
            "follow": config.catch_up.follow,
            "mariadb": "mariadb" in version.lower(),
            # only these tables' row events are decoded: the run's, and the parents its cascades follow
            "tables": sorted({job.identity for job in active} | {edge.parent for edge in edges}),
        }
    )
    table_starts = {job.identity: starts.tables[job.identity] for job in active}
    cascades = CascadeDeriver(conn, client, appliers, edges)
    view = verifier = verify_conn = repass_conn = None
    if config.catch_up.verify:
        verify_conn = connect(config.mysql, connection_settings["passwd"])
        repass_conn = connect(config.mysql, connection_settings["passwd"])
        view = FollowerView()
        verifier = LiveVerifier(
            verify_conn,
            client,
            active,
            view,
            config.dynamodb.null_as,
            config.catch_up.verify_rows_per_second,
            config.run.repair,
            repass_conn,
            build_spread(spark, config, connection_settings["passwd"], conn) if spark is not None else None,
            config.spark.progress_seconds,
        )
    loop = CatchUp(config, appliers, target, state, server, cascades, view, verifier, conn)
    try:
        if verifier is not None:
            verifier.start()
        report.catch_up = loop.run(stream, start, table_starts)
    finally:
        stream.close()  # stops the binlog reader
        if view is not None and verifier is not None and verify_conn is not None:
            view.stop()
            verifier.join()
            verify_conn.close()
            if repass_conn is not None:
                repass_conn.close()
    if verifier is not None:
        report.catch_up["verification"] = loop.verification_outcome()
    behind = report.catch_up.get("behind")
    for job in active:
        applier = appliers[job.identity]
        result = job.result
        result.rows_read, result.items_written = applier.changes, applier.puts
        result.items_deleted, result.rejected = applier.deletes, applier.rejected
        recorded = state.catch_up_from(job.identity) if state.entry(job.identity) else None
        result.source_position = recorded or _position_dict(table_starts.get(job.identity), server)
        reload_reason = loop.needs_reload.get(job.identity)
        if reload_reason:
            job.fail(NEEDS_RELOAD, reload_reason)
            continue
        if behind:
            job.fail(BEHIND, behind)
            continue
        result.status = CAUGHT_UP
        if applier.rejected:
            result.rejects_path = storage.join(config.output.rejects, "catch-up")
    if report.catch_up.get("error"):
        report.error = report.catch_up["error"]
    elif behind:
        report.error = f"catch-up: {behind}"
    elif verifier is not None and not report.catch_up["verification"]["verified"]:
        report.error = f"live verification: {report.catch_up['verification']['summary']}"


class CatchUp:
    """The event loop: feed the batcher, apply the batches it hands out, record each table's
    applied position once everything before it is applied."""

    def __init__(
        self,
        config: Config,
        appliers: Dict[TableName, TableApplier],
        target: Optional[Position],
        state: State,
        server: str,
        cascades: CascadeDeriver,
        view: Optional[FollowerView] = None,
        verifier: Optional[LiveVerifier] = None,
        conn: Optional[Connection] = None,
    ):
        self.config = config
        self.conn = conn  # the catch-up's own connection (the fence is read through it)
        self.fence: Optional[Position] = None  # the server's position once the source was seen read-only
        self.batcher: Optional[Batcher] = None  # the run's: its prepared XA transactions hold the signal back
        self.at_edge = False  # the last event read was a heartbeat with nothing left to apply
        self.row_events_decoded = 0  # of every table the reader decoded: the run's only, when filtered
        self.view, self.verifier = view, verifier  # with live verification
        self.safe_to_cut_over = False
        self.cut_over_checked = 0.0
        self.appliers = appliers
        self.cascades = cascades
        self.target = target
        self.state = state
        self.server = server
        self.rejects: List[Dict] = []
        self.stop_requested = False
        self.applied_lag = 0.0
        self.applied = 0
        self.needs_reload: Dict[TableName, str] = {}
        self.last_applied: Optional[Position] = None  # everything before it is written (settled)
        self.writers: Dict[TableName, BatchWriter] = {}
        self.unsettled: Optional[Position] = None  # applied through here, its writes maybe in flight
        self.unsettled_tables: Set[TableName] = set()
        self.settled_at = time.monotonic()

    def _writer(self, applier: TableApplier) -> BatchWriter:
        """The table's writer, open for the whole catch-up: a batch's writes go on in flight while
        the next batch is read and re-read (puts and deletes of one key stay in order)."""
        table = applier.plan.identity
        if table not in self.writers:
            writer = BatchWriter(
                applier.client,
                applier.plan.target,
                applier.layout.item_key,
                applier.limiter,
                self.config.dynamodb.max_retry_seconds,
                max_in_flight=self.config.dynamodb.max_in_flight,
            )
            if self.view is not None:  # live verification compares again what the follower wrote
                writer = RecordingWriter(writer, self.view, table, applier.layout.item_key)  # type: ignore[assignment]
            self.writers[table] = writer
        return self.writers[table]

    def settle(self) -> None:
        """Wait for every write in flight, then record the positions applied through: a position
        is saved only once everything before it is in DynamoDB."""
        for table, writer in self.writers.items():
            writer.flush()
            self.appliers[table].puts, self.appliers[table].deletes = writer.written, writer.deleted
        self.settled_at = time.monotonic()
        through, tables = self.unsettled, sorted(self.unsettled_tables)
        self.unsettled, self.unsettled_tables = None, set()
        if through is None:
            return
        self.last_applied = through
        if tables:
            self.state.record_applied(tables, dict(through.as_dict(), server=self.server))
        if self.view is not None:
            self.view.settled(through)

    def close_writers(self) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers = {}

    def apply(self, batch: Batch, batcher: Batcher) -> None:
        if batch.parent_changes:
            self.settle()  # cascades are found in DynamoDB: earlier batches' writes must be there
        derived = self._derive(batch, batcher)
        if self.view is not None:
            self.view.position = batch.through  # None (an XA transaction still prepared): after every read
        for table in [*batch.images, *(t for t in derived if t not in batch.images)]:
            if table not in batcher.tables:
                continue  # it left the catch-up (needs reload): nothing more is applied to it
            applier = self.appliers[table]
            applier.changes += batch.changes.get(table, 0)
            try:
                applier.apply(
                    batch.images.get(table, []), self._writer, self.rejects, derived.get(table), batch.ends_at
                )
            except (InexactImage, pymysql.err.DataError, pymysql.err.IntegrityError) as e:
                # A changed key the binlog does not give exactly (a zero date), or a value the
                # server will not take back as the column's own: this table cannot be caught up;
                # the others can.
                self._set_aside(
                    table,
                    batcher,
                    f"a changed row's value from the binlog before {batch.through} "
                    f"cannot identify its row: {one_line(e)}",
                )
        if self.rejects:
            path = storage.join(
                self.config.output.rejects,
                "catch-up",
                f"rejects-{batch.through or 'end'}-{int(time.time())}.jsonl".replace(":", "_"),
            )
            storage.write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.rejects))
            self.rejects = []
        self.applied += batch.rows
        if batch.rows and batch.last_commit_timestamp:
            self.applied_lag = max(0.0, time.time() - batch.last_commit_timestamp)
        through = batch.through
        if through is not None:
            self.unsettled = through
            behind = [t for t, applied in batcher.tables.items() if applied is None or applied < through]
            for table in behind:
                batcher.tables[table] = through
            self.unsettled_tables.update(behind)
        if time.monotonic() - self.settled_at >= SETTLE_SECONDS:
            self.settle()

    def _derive(self, batch: Batch, batcher: Batcher) -> Dict[TableName, Derived]:
        """The child rows this batch's parent changes cascaded to (found before anything is applied,
        so the items still show what the children held)."""
        if not batch.parent_changes:
            return {}
        try:
            derived, failed = self.cascades.derive(batch, batcher.tables)
        except (InexactImage, pymysql.err.DataError, pymysql.err.IntegrityError) as error:
            derived = {}
            why = f"a referenced value from the binlog cannot be matched: {one_line(error)}"
            failed = {edge.child: why for edge in self.cascades.edges if edge.parent in batch.parent_changes}
        for table, why in failed.items():
            if table in batcher.tables:
                self._set_aside(table, batcher, f"cascaded changes before {batch.through} cannot be followed: {why}")
        return derived

    def _statement_tables(self, query: str, schema: str) -> List[TableName]:
        """The selected tables a statement logged as text may change: named ones, and the children
        of named parents whose rows it changes (their cascades are not logged either)."""
        parents = self.cascades.parents
        named = tables_changed(query, schema, [*self.appliers, *(p for p in parents if p not in self.appliers)])
        reached = [t for t in named if t in self.appliers]
        frontier = set(named) if changes_rows(query) else set()
        while frontier:  # a child's rows deleted or re-keyed by the cascade cascade further
            frontier = {e.child for e in self.cascades.edges if e.parent in frontier} - set(reached)
            reached += sorted(frontier)
        return reached

    def _leave(self, action: TableNeedsReload) -> None:
        statement = action.statement
        for table in action.tables:
            self._mark(
                table,
                f"{statement.query.strip()[:120]!r} at {statement.position} may have changed "
                f"{quote_table(*table)} in a way catch-up cannot apply",
            )

    def _set_aside(self, table: TableName, batcher: Batcher, why: str) -> None:
        batcher.tables.pop(table, None)
        self._mark(table, f"{quote_table(*table)}: {why}")

    def _mark(self, table: TableName, why: str) -> None:
        reason = f"{why}: reload it (--tables '{table[0]}.{table[1]}'), then catch up again"
        self.needs_reload[table] = reason
        self.state.mark_needs_reload(table, reason)
        if self.verifier is not None:
            self.verifier.leave(table, reason)
        log.error("catch-up: %s", reason)

    def run(
        self, stream: Iterator[Event], start: Optional[Position], starts: Dict[TableName, Optional[Position]]
    ) -> Dict:
        started = time.monotonic()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: setattr(self, "stop_requested", True))
        outcome: Dict = {
            "start": start.as_dict() if start else {"gtid": self.config.catch_up.from_gtid},
            "table_starts": {f"{d}.{t}": (p.as_dict() if p else None) for (d, t), p in starts.items()},
            "target": self.target.as_dict() if self.target else None,
        }
        if self.target is not None and start is not None and start >= self.target:
            outcome.update(end=start.as_dict(), stopped="already at the server's position")
            return self._finish(outcome, started, 0)
        batcher = Batcher(
            starts,
            self.config.catch_up.batch_rows,
            self.config.catch_up.max_delay_seconds,
            self._statement_tables,
            sorted(self.cascades.parents),
        )
        batcher.start(start)
        self.batcher = batcher
        try:
            reason = self._consume(stream, batcher, started)
            rest = batcher.rest()
            self.apply(rest, batcher)
            self.settle()
        except Exception as e:  # noqa: BLE001 - a lost source or DynamoDB: one line, and the report still chains
            self.close_writers()
            end = self.last_applied or start  # nothing applied: every table is still at least at the start
            outcome.update(
                end=end.as_dict() if end else None,
                stopped="error",
                error=f"catch-up stopped at {end or 'its start'}: {one_line(e)}; every table's applied position "
                f"is in the state ({self.state.path}): run the catch-up again to go on",
            )
            return self._finish(outcome, started, batcher.rows_read)
        self.close_writers()
        end = rest.through
        outcome.update(end=end.as_dict() if end else (start.as_dict() if start else None), stopped=reason)
        behind = self._behind(reason, end, batcher)
        if behind:
            outcome.update(behind=behind, lag_seconds=round(self.applied_lag, 1))
            log.error("catch-up: %s", behind)
        if self.needs_reload:
            outcome["needs_reload"] = [f"{d}.{t}" for d, t in self.needs_reload]
        return self._finish(outcome, started, batcher.rows_read)

    def _behind(self, reason: str, end: Optional[Position], batcher: Batcher) -> Optional[str]:
        """Why the catch-up did not get through what it was to apply, or None: a one-shot run must
        reach the server's position at its start; a follower, the server's live edge (the last
        thing it read a heartbeat, with nothing left to apply)."""
        if reason == VERIFIED:
            return None
        if self.target is not None:
            if end is not None and end >= self.target:
                return None
            return f"stopped ({reason}) at {end or 'its start'}, before the server's position {self.target}"
        if self.at_edge:
            return None
        return f"stopped ({reason}) behind the server (lag {self.applied_lag:.0f}s): applied through {end}"

    def _consume(self, stream: Iterator[Event], batcher: Batcher, started: float) -> str:
        """Feeds the stream to the batcher and applies its batches; says why it stopped."""
        follow = self.config.catch_up.follow
        last_log = time.monotonic()
        draining_since: Optional[float] = None
        for event in stream:
            self.row_events_decoded += isinstance(event, RowsChanged)
            action = batcher.feed(event, time.monotonic())
            if isinstance(action, TableNeedsReload):
                self._leave(action)
            elif isinstance(action, ApplyBatch):
                self.apply(action.batch, batcher)
            self.at_edge = isinstance(event, Heartbeat) and batcher.idle and not batcher.committed.pending
            if self.at_edge:
                self.applied_lag = 0.0
            if self.view is not None:
                self._show(event, batcher)
            if time.monotonic() - last_log >= self.config.spark.progress_seconds:
                last_log = time.monotonic()
                log.info(
                    "catch-up: at %s, %d row change(s) read, %d applied, lag %.0fs (of the last applied commit)%s",
                    event.position,
                    batcher.rows_read,
                    self.applied,
                    self.applied_lag,
                    self._cut_over_line(),
                )
            if self.verifier is not None and time.monotonic() - self.cut_over_checked >= CUT_OVER_CHECK_SECONDS:
                self.cut_over_checked = time.monotonic()
                self._check_fence()
                self._signal_cut_over()
                if self.config.catch_up.until_verified and self._verified_to_the_end():
                    return VERIFIED
            reached = batcher.safe_position()
            if self.target is not None and reached is not None and reached >= self.target:
                return "reached the server's position at the start"
            if self.stop_requested:
                if not follow or self.at_edge:
                    return "signal"
                # a follower drains to the server's live edge first, for a bounded time
                draining_since = draining_since or time.monotonic()
                if time.monotonic() - draining_since >= DRAIN_SECONDS:
                    return "signal"
            if (
                follow
                and self.config.catch_up.max_seconds
                and time.monotonic() - started >= self.config.catch_up.max_seconds
            ):
                return "max-seconds"
        return "the binlog stream ended"

    def _check_fence(self) -> None:
        """The fence: the source read-only. Seen set, the server's position after it is where every
        write has ended; seen lifted again, there is no fence."""
        assert self.conn is not None
        with self.conn.cursor() as cur:
            cur.execute("SELECT @@GLOBAL.read_only")
            read_only = str(cur.fetchone()[0]).upper() in ("1", "ON")
        if read_only and self.fence is None:
            self.fence = binlog.current_position(self.conn)
            log.info("live verify: fence: the source is read-only; applying and verifying through %s", self.fence)
        elif not read_only and self.fence is not None:
            log.info("live verify: the fence was lifted (read_only = OFF): not safe to cut over")
            self.fence = None

    # ---- with live verification ----

    def _show(self, event: Event, batcher: Batcher) -> None:
        """Tell the view what live verification needs: the last change seen, how far everything is
        written (with a heartbeat while nothing is pending: the server's position), and apply
        the repairs it asked for."""
        assert self.view is not None
        if isinstance(event, RowsChanged) and event.table in batcher.tables:
            self.view.changed(event.position)
        idle = not batcher.committed.pending and not batcher.open.pending and not batcher.prepared
        if isinstance(event, Heartbeat) and idle:
            self.settle()
            self.view.settled(event.position)
        self.view.lag_seconds = self.applied_lag
        self._repair(batcher)

    def _repair(self, batcher: Batcher) -> None:
        assert self.view is not None
        repairs = self.view.take_repairs()
        if not repairs:
            return
        self.view.begin_repairs()
        for table, rows in repairs:
            if table not in batcher.tables:
                continue
            self.view.position = batcher.boundary
            try:
                self.appliers[table].apply([], self._writer, self.rejects, Derived(rendered_rows=rows))
            except (InexactImage, pymysql.err.DataError, pymysql.err.IntegrityError) as e:
                log.error("live verify: %s: a repair could not be applied: %s", quote_table(*table), one_line(e))
        self.settle()  # written before live verification compares the keys again
        self.view.repaired([table for table, _ in repairs])

    def _verified_to_the_end(self) -> bool:
        """--until-verified: the fence set, and every table verified (or found to differ) through
        the server's position after it. Silence is never taken for a stopped application."""
        assert self.view is not None and self.verifier is not None
        if self.verifier.error:
            return True
        if self.fence is None:
            return False
        last = self.view.last_change
        mark = max(self.fence, last) if last is not None else self.fence
        return not self.verifier.unsettled(mark)

    def _cut(self) -> CutOver:
        assert self.verifier is not None
        prepared = len(self.batcher.prepared) if self.batcher is not None else 0
        return self.verifier.cut_over(self.applied_lag, self.config.catch_up.cut_over_lag_seconds, self.fence, prepared)

    def _signal_cut_over(self) -> None:
        """Log the cut-over signal when it changes: safe, or no longer safe (the source wrote again)."""
        assert self.verifier is not None
        cut = self._cut()
        if cut.safe != self.safe_to_cut_over:
            self.safe_to_cut_over = cut.safe
            if cut.safe:
                log.info("live verify: SAFE TO CUT OVER: %s (through %s)", cut.why, self.view and self.view.through)
            else:
                log.info("live verify: no longer safe to cut over: %s", cut.why)

    def _cut_over_line(self) -> str:
        if self.verifier is None:
            return ""
        cut = self._cut()
        return "; SAFE TO CUT OVER: " + cut.why if cut.safe else "; not yet safe to cut over: " + cut.why

    def verification_outcome(self) -> Dict:
        assert self.verifier is not None
        outcome = self.verifier.report(self.config.catch_up.verify_examples)
        cut = self._cut()
        differing = [name for name, table in outcome["tables"].items() if table["differences"]]
        outcome["cut_over"] = {"safe": cut.safe and not outcome["error"], "why": outcome["error"] or cut.why}
        outcome["verified"] = outcome["cut_over"]["safe"]
        if differing:
            outcome["summary"] = f"DynamoDB differs from the source in {', '.join(differing)} (see the examples)"
        else:
            outcome["summary"] = outcome["cut_over"]["why"]
        return outcome

    def _finish(self, outcome: Dict, started: float, events: int) -> Dict:
        seconds = time.monotonic() - started
        outcome.update(
            row_changes=events,
            row_events_decoded=self.row_events_decoded,
            seconds=round(seconds, 2),
            changes_per_second=round(events / seconds, 1) if seconds > 0 else 0.0,
        )
        return outcome
