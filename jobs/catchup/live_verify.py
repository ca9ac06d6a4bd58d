"""Live verification (`--catch-up --follow --verify`): compares every table with the source while
the follower applies the binlog, in a thread of the follower's process, so that it sees exactly
how far the follower has applied and which keys it wrote (`FollowerView`).

Each table is compared whole once (the source read in one consistent snapshot, DynamoDB scanned
once the follower has applied past the snapshot); from then on in rounds, each comparing only
the keys the follower wrote since the last comparison (and those still pending). A round costs
what changed, not the table's size, so once writes stop the tables are verified through the
last change within seconds. Keyless tables (their items are named by content) are compared
whole again whenever the follower wrote to them. The rules are `mapping.live_verify`'s.

Rounds see only what the binlog shows. A change it never shows (a source row changed with
`sql_log_bin = 0`, an item edited in DynamoDB) is found by the background passes: a second
thread, on its own connection, compares each table whole again, one after the other, for as
long as the follower runs, within the same read pace; a difference on a key the follower has
not written since that pass's snapshot is real.
"""

import json
import logging
import threading
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple

from pymysql.connections import Connection

from jobs.catchup.follower_view import FollowerView, RenderedRow
from jobs.catchup.spread import Spread
from jobs.catchup.verify_sides import TableSides
from jobs.errors import one_line
from jobs.mysql.binlog import current_position
from jobs.mysql.snapshot import consistent_snapshot
from jobs.report import now
from jobs.table_job import TableJob
from mapping.binlog import Position, TableName
from mapping.comparison import (
    UpTo,
    bucket_chunks,
    bucket_count,
    differing_buckets,
    in_buckets,
    key_problems,
    summarize,
)
from mapping.keys import key_column_values
from mapping.live_verify import EXTRA, REAL, CutOver, TableVerification, cut_over, judge, unsettled

log = logging.getLogger("mysql2dynamodb")


class WholeComparison(NamedTuple):
    low: Position  # the source's snapshot: every commit through here is in it
    found: Dict[str, str]  # key -> problem
    items: Dict[str, RenderedRow]  # the differing items, as rows
    compared: int  # keys compared
    lows: Optional[Dict[str, Position]] = None  # spread passes: the snapshot each differing key is judged against


WAIT_SECONDS = 30.0  # for the follower to apply through a read's position, before trying again
IDLE_SECONDS = 0.5  # between rounds that found nothing to compare
REPASS_PAUSE_SECONDS = 1.0  # between two background whole passes (a small table is not re-read in a loop)


class LiveVerifier:
    def __init__(
        self,
        conn: Connection,
        client,
        jobs: Sequence[TableJob],
        view: FollowerView,
        null_as: str,
        rows_per_second: float,
        repair: bool,
        repass_conn: Optional[Connection] = None,
        spread: Optional[Spread] = None,
        progress_seconds: float = 0,
    ):
        self.conn, self.view, self.repair, self.spread = conn, view, repair, spread
        self.sides = {
            j.identity: TableSides(j.plan, null_as, conn, client, rows_per_second, progress_seconds=progress_seconds)
            for j in jobs
        }
        self.repass_conn = repass_conn
        self.repass_sides = {
            table: TableSides(
                sides.plan,
                null_as,
                repass_conn,
                client,
                rows_per_second,
                paces=(sides.source_pace, sides.target_pace),
                progress_seconds=progress_seconds,
            )
            for table, sides in self.sides.items()
            if repass_conn is not None
        }
        self.holding: Optional[Position] = None  # a background pass's read: touches after it are kept
        self.first_passes_done = threading.Event()
        self.tables = {j.identity: TableVerification(j.name) for j in jobs}
        self.repairs_asked: Dict[TableName, Set[str]] = {j.identity: set() for j in jobs}
        self.lock = threading.Lock()
        self.repairs_counted: Dict[TableName, int] = {}  # repairs asked of the follower
        self.repairs_seen: Dict[TableName, int] = {}  # of those it applied, how many a comparison has seen
        self.error: Optional[str] = None
        self.thread = threading.Thread(target=self._run, name="live-verify", daemon=True)
        self.repass_thread = threading.Thread(target=self._repass_all, name="live-verify-repass", daemon=True)

    def start(self) -> None:
        self.thread.start()
        if self.repass_conn is not None:
            self.repass_thread.start()

    def join(self) -> None:
        self.thread.join(WAIT_SECONDS)
        if self.repass_thread.is_alive():
            self.repass_thread.join(WAIT_SECONDS)

    def leave(self, table: TableName, why: str) -> None:
        """The table left the catch-up (it needs a reload): it cannot be verified."""
        with self.lock:
            if table in self.tables:
                self.tables[table].failed = why

    # ---- what the follower asks ----

    def cut_over(
        self, lag_seconds: float, lag_bound: float, fence: Optional[Position] = None, prepared_xa: int = 0
    ) -> CutOver:
        with self.lock:
            return cut_over(
                list(self.tables.values()), lag_seconds, lag_bound, self.view.last_change, fence, prepared_xa
            )

    def unsettled(self, through: Optional[Position] = None) -> List[str]:
        """Tables not yet judged through `through` (default: the last change), or with a repair
        not yet compared again."""
        with self.lock:
            repairing = [
                state.name
                for table, state in self.tables.items()
                if self.repairs_counted.get(table, 0) > self.repairs_seen.get(table, 0)
            ]
            mark = through if through is not None else self.view.last_change
            return unsettled(list(self.tables.values()), mark) + repairing

    def report(self, examples: int) -> Dict:
        with self.lock:
            tables = {t.name: t.as_report(examples) for t in self.tables.values()}
            verified = [t.verified_through for t in self.tables.values() if t.verified and t.verified_through]
            return {
                "tables": tables,
                "verified_through": min(verified).as_dict() if len(verified) == len(self.tables) else None,
                "error": self.error,
            }

    # ---- the thread ----

    def _run(self) -> None:
        try:
            for table in self.tables:
                if not self.view.stopped and self.tables[table].failed is None:
                    self._whole(table)
            self.first_passes_done.set()
            while not self.view.stopped:
                compared = False
                for table, state in self.tables.items():
                    if state.failed is None and not self.view.stopped:
                        compared = self._next(table) or compared
                if not compared:
                    self.view.pause(IDLE_SECONDS)
        except Exception as e:  # noqa: BLE001 - the follower reports it; the tables stay unverified
            if self.view.stopped:
                return  # the follower ended mid-read (its connection closed): the report says what is unverified
            self.error = f"live verification stopped: {one_line(e)}"
            log.error("%s", self.error)

    def _next(self, table: TableName) -> bool:
        state, sides = self.tables[table], self.sides[table]
        since = state.verified_through
        if since is None:
            self._whole(table)
            return True
        repairs = self.view.repairs_applied.get(table, 0)
        if repairs == self.repairs_seen.get(table, 0) and (self.view.through is None or self.view.through <= since):
            return False  # nothing applied since the last comparison
        if not sides.keyed and (self.view.touched_after(table, since) or state.pending):
            self._whole(table)
            compared = True
        else:
            compared = self._round(table, only_advance=not sides.keyed)
        self.repairs_seen[table] = repairs  # the repairs applied before this comparison are compared
        return compared

    def _both_whole(self, conn: Connection, sides: TableSides) -> Optional[WholeComparison]:
        """Both sides summarised per bucket of keys (the source in one snapshot, DynamoDB once
        the follower applied past it); the buckets that differ read again key by key, a few at
        a time, each read in a snapshot of its own. Memory holds the summaries and the keys of
        the buckets being read, never the table. Every difference is judged against the first
        snapshot: a key the follower wrote after it is pending. None when the follower did not
        get far enough in time. Under spark-submit, a big table's pass runs as Spark jobs
        (`spread`)."""
        buckets = bucket_count(max(sides.plan.source.estimated_rows, 1))
        sides.read.restart()
        if self.spread is not None and self.spread.takes(sides.plan):
            return self._spread_whole(conn, sides, buckets)
        keyless = not sides.keyed
        up_to = UpTo()
        sides.contents = {}
        with consistent_snapshot(conn) as span:
            source = summarize(sides.source_pairs(lambda key: not up_to.dropped), buckets, keyless, up_to.source_pair)
        if not self.view.wait_applied(span.high, WAIT_SECONDS):
            return None
        target_items: Dict[str, Dict[str, Optional[str]]] = {}  # keyless: a repair puts the rows back

        def target_pairs() -> Iterator[Tuple[str, int]]:
            for key, digest, item in sides.target_all():
                if keyless and not up_to.dropped:
                    target_items[key] = item
                yield key, digest

        target = summarize(target_pairs(), buckets, keyless, up_to.target_pair)
        if up_to.dropped:
            sides.contents, target_items = {}, {}
        differing = differing_buckets(source, target)
        found: Dict[str, str] = {}
        if differing and not up_to.dropped:  # a small table: its keys are at hand
            found = key_problems(up_to.source, up_to.target)
        for chunk in bucket_chunks(differing, source, target) if up_to.dropped else []:

            def keep(key: str, chunk=chunk) -> bool:
                return in_buckets(key, chunk, buckets, keyless)

            with consistent_snapshot(conn) as again:
                source_keys = dict(pair for pair in sides.source_pairs(keep) if keep(pair[0]))
            if not self.view.wait_applied(again.high, WAIT_SECONDS):
                return None
            target_keys = {}
            for key, digest, item in sides.target_all():
                if keep(key):
                    target_keys[key] = digest
                    if keyless:
                        target_items[key] = item
            found.update(key_problems(source_keys, target_keys))
            sides.contents = {key: row for key, row in sides.contents.items() if key in found}
            target_items = {key: item for key, item in target_items.items() if key in found}
        items = {key: sides.rendered_row(target_items[key]) for key in found if key in target_items}
        sides.contents = {key: row for key, row in sides.contents.items() if key in found}
        compared = source.total + sum(1 for difference in found.values() if difference == EXTRA)
        return WholeComparison(span.low, found, items, compared)

    def _spread_whole(self, conn: Connection, sides: TableSides, buckets: int) -> Optional[WholeComparison]:
        assert self.spread is not None
        spread = self.spread.compare(
            sides.plan,
            buckets,
            conn,
            lambda position: self.view.wait_applied(position, WAIT_SECONDS),
            lambda: current_position(conn),
        )
        if spread is None:
            return None
        # the tasks' reads count against the pace the rounds and the other passes share, as a
        # pass in this thread would: what they read beyond it, the next reads wait out
        sides.source_pace.take(spread.rows_read)
        sides.target_pace.take(spread.items_read)
        sides.contents = spread.contents
        items = {key: sides.rendered_row(item) for key, item in spread.items.items()}
        return WholeComparison(spread.low, spread.found, items, spread.compared, spread.lows)

    def _whole(self, table: TableName) -> None:
        repairs_done = self.view.repairs_done
        whole = self._both_whole(self.conn, self.sides[table])
        if whole is None:
            return
        span, found, extra_rows, compared, lows = whole
        self._judge(table, span, found, set(found), compared, repairs_done, items=extra_rows, lows=lows)
        with self.lock:
            self.tables[table].last_whole_pass = (now(), span)
        log.info("live verify: %s compared whole (%d keys) as of %s", self.tables[table].name, compared, span)

    # ---- the background passes: what the binlog never shows ----

    def _repass_all(self) -> None:
        assert self.repass_conn is not None
        try:
            while not self.view.stopped and not self.first_passes_done.wait(IDLE_SECONDS):
                pass
            while not self.view.stopped:
                for table, state in self.tables.items():
                    if state.failed is None and not self.view.stopped:
                        self._repass(table)
                        self.view.pause(REPASS_PAUSE_SECONDS)
        except Exception as e:  # noqa: BLE001 - the follower reports it; the tables stay unverified
            if self.view.stopped:
                return
            self.error = f"live verification's background pass stopped: {one_line(e)}"
            log.error("%s", self.error)
        finally:
            self.holding = None

    def _repass(self, table: TableName) -> None:
        assert self.repass_conn is not None
        sides = self.repass_sides[table]
        self.holding = current_position(self.repass_conn)  # at or before the snapshot: its touches are kept
        try:
            self._compare_again(table, sides)
        finally:
            self.holding = None

    def _compare_again(self, table: TableName, sides: TableSides) -> None:
        assert self.repass_conn is not None
        repairs_done = self.view.repairs_done  # a key repaired since: its round compares it again
        whole = self._both_whole(self.repass_conn, sides)
        if whole is None:
            return
        low, found, items, compared, lows = whole
        if found and not self.view.wait_applied(current_position(self.repass_conn), WAIT_SECONDS):
            return
        real = {
            k: p
            for k, p in found.items()
            if not self.view.was_touched_after(table, k, (lows or {}).get(k, low), repairs_done)
        }
        with self.lock:
            self.tables[table].record_repass(low, real, now())
        name = self.tables[table].name
        log.info("live verify: %s compared whole again (%d keys) as of %s", name, compared, low)
        for key in list(real)[:5]:
            log.warning("live verify: %s differs at key %s: %s (not shown by the binlog)", name, key, real[key])
        if real and self.repair:
            self._ask_repair(table, list(real), items, sides)

    def _round(self, table: TableName, only_advance: bool = False) -> bool:
        state, sides = self.tables[table], self.sides[table]
        repairs_done = self.view.repairs_done
        if not self.view.wait_applied(current_position(self.conn), WAIT_SECONDS):
            return False  # the follower is far behind: the snapshot is not held open while it catches up
        with consistent_snapshot(self.conn) as span:
            if not self.view.wait_applied(span.high, WAIT_SECONDS):
                return False
            keys: Set[str] = set()
            if not only_advance:
                keys = self.view.touched_after(table, state.verified_through) | set(state.pending)
                keys |= set(state.differences)
            source = sides.source_for(keys) if keys else {}
        target = sides.target_for(keys) if keys else {}
        found = key_problems(source, target)
        self._judge(table, span.low, found, keys, None, repairs_done)
        holding = self.holding
        self.view.forget_through(table, min(span.low, holding) if holding is not None else span.low)
        return bool(keys)

    def _judge(
        self,
        table: TableName,
        low: Position,
        found: Dict[str, str],
        compared: Set[str],
        whole: Optional[int],
        repairs_done: int,
        items: Optional[Dict[str, RenderedRow]] = None,
        lows: Optional[Dict[str, Position]] = None,
    ) -> None:
        """Differences are judged once the follower has applied past the source's position after
        the DynamoDB read: a key it wrote for a change after the snapshot is compared again.
        `whole`: the number of keys a whole-table comparison compared (None: a round's). A key
        repaired after the comparison began (`repairs_done`: the repairs done then) is compared
        again too. `lows`: a key read in a snapshot of its own (a spread pass's partition) is
        judged against it."""
        if found and not self.view.wait_applied(current_position(self.conn), WAIT_SECONDS):
            return
        verdicts: Dict[str, Tuple[str, Optional[str]]] = {}
        for key in compared:
            difference = found.get(key)
            since = (lows or {}).get(key, low)
            touched = self.view.was_touched_after(table, key, since, repairs_done)
            verdicts[key] = (judge(difference, touched), difference)
        with self.lock:
            self.tables[table].record(low, verdicts, whole)
        real = [key for key, (verdict, _) in verdicts.items() if verdict == REAL]
        for key in real[:5]:
            log.warning("live verify: %s differs at key %s: %s", self.tables[table].name, key, found[key])
        if real and self.repair:
            self._ask_repair(table, real, items or {})

    def _ask_repair(
        self, table: TableName, keys: List[str], items: Dict[str, RenderedRow], sides: Optional[TableSides] = None
    ) -> None:
        """The follower re-reads these rows from the source and writes what it finds, in order with
        its own writes; the next round compares them again. Each key is asked once."""
        sides, asked = sides or self.sides[table], self.repairs_asked[table]
        fresh = [k for k in keys if k not in asked]
        if not fresh:
            return
        asked.update(fresh)
        rows: List[RenderedRow] = []
        for key in fresh:
            if sides.keyed:
                columns = key_column_values(json.loads(key), sides.plan.key)
                if columns is not None:
                    key_row: RenderedRow = dict(zip(sides.plan.key.source_columns, columns))
                    rows.append(key_row)
            else:
                content = sides.contents.get(key)
                if content is not None:
                    rows.append({c.name: v for c, v in zip(sides.plan.columns, content)})
                if key in items:
                    rows.append(items[key])
        with self.lock:
            self.tables[table].repaired += len(fresh)
            self.repairs_counted[table] = self.repairs_counted.get(table, 0) + 1
        self.view.ask_repair(table, rows)
