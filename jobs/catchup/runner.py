"""Catch-up (--catch-up): apply the binlog from a recorded position to the migrated tables.

Driver only (pymysql, mysql-replication, boto3): no Spark. The binlog's events become the
pure event kinds of `mapping.binlog` (`jobs.mysql.binlog`); its `Batcher` decides where
transactions end and when a batch is due; each table's `TableApplier` applies a batch by
re-reading the changed rows from the source. Positions are saved only at transaction ends,
after everything before them is applied.
"""

import json
import logging
import signal
import time
from typing import Dict, List, Optional, Sequence

from botocore.client import BaseClient
from pymysql.connections import Connection

from jobs import storage
from jobs.catchup.applier import TableApplier
from jobs.config import Config
from jobs.dynamodb.writer import BatchWriter
from jobs.errors import TargetError, one_line
from jobs.mysql import binlog
from jobs.report import CAUGHT_UP, FAILED, Report
from jobs.table_job import TableJob
from mapping.binlog import ApplyBatch, Batch, Batcher, Heartbeat, Position, StopAtStatement, TableName
from mapping.identifiers import quote_table

log = logging.getLogger("mysql2dynamodb")


def state_file(config: Config) -> str:
    return storage.join(config.output.state, "catchup.json")


def saved_position(config: Config) -> Optional[Position]:
    path = state_file(config)
    if not storage.exists(path):
        return None
    body = json.loads(storage.read_text(path))
    return Position(body["binlog_file"], int(body["binlog_position"]))


def save_position(config: Config, position: Position) -> None:
    storage.write_text(state_file(config), json.dumps(position.as_dict()))


def check_preconditions(conn: Connection) -> None:
    binlog.check_server(conn)
    binlog.check_privileges(conn)


def run_catch_up(
    config: Config,
    conn: Connection,
    client: BaseClient,
    jobs: Sequence[TableJob],
    report: Report,
    connection_settings: Dict,
) -> None:
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
        except Exception as e:
            raise TargetError(
                f"DynamoDB table {job.plan.target} for {job.name} cannot be used: {one_line(e)}; "
                f"load the table before catching up"
            ) from e
    target = None if config.catch_up.follow else binlog.current_position(conn)
    appliers = {job.identity: TableApplier(conn, client, job, config, n) for n, job in enumerate(jobs)}
    version = conn.get_server_info() if hasattr(conn, "get_server_info") else ""
    stream = binlog.events(
        connection_settings,
        config.catch_up.server_id,
        start,
        gtid,
        config.catch_up.follow,
        "mariadb" in version.lower(),
    )
    outcome = CatchUp(config, appliers, target).run(stream, start)
    report.catch_up = outcome
    for job in jobs:
        applier = appliers[job.identity]
        job.result.status = FAILED if outcome.get("stopped_at_ddl") == list(job.identity) else CAUGHT_UP
        job.result.rows_read, job.result.items_written = applier.changes, applier.puts
        job.result.items_deleted, job.result.rejected = applier.deletes, applier.rejected
    if outcome.get("error"):
        report.error = outcome["error"]


class CatchUp:
    """The event loop: feed the batcher, apply the batches it hands out, save their positions."""

    def __init__(self, config: Config, appliers: Dict[TableName, TableApplier], target: Optional[Position]):
        self.config = config
        self.appliers = appliers
        self.target = target
        self.rejects: List[Dict] = []
        self.stop_requested = False
        self.applied_lag = 0.0
        self.applied = 0

    def _writer(self, applier: TableApplier) -> BatchWriter:
        return BatchWriter(
            applier.client,
            applier.plan.target,
            applier.layout.item_key,
            applier.limiter,
            self.config.dynamodb.max_retry_seconds,
        )

    def apply(self, batch: Batch) -> None:
        for table, images in batch.images.items():
            applier = self.appliers[table]
            applier.changes += batch.changes.get(table, 0)
            applier.apply(images, self._writer, self.rejects)
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
        if batch.through is not None:
            save_position(self.config, batch.through)

    def run(self, stream, start: Optional[Position]) -> Dict:
        started = time.monotonic()
        follow = self.config.catch_up.follow
        if follow:
            signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stop_requested", True))
        outcome: Dict = {
            "start": start.as_dict() if start else {"gtid": self.config.catch_up.from_gtid},
            "target": self.target.as_dict() if self.target else None,
        }
        if self.target is not None and start is not None and start >= self.target:
            outcome.update(end=start.as_dict(), stopped="already at the server's position", events=0)
            return self._finish(outcome, started, 0)
        batcher = Batcher(
            self.appliers,
            self.config.catch_up.batch_rows,
            self.config.catch_up.max_delay_seconds,
            lambda query, schema: binlog.ddl_table(query, schema, self.appliers),
        )
        batcher.start(start)
        last_log = time.monotonic()
        for event in stream:
            action = batcher.feed(event, time.monotonic())
            if isinstance(action, StopAtStatement):
                self.apply(action.batch)
                name = quote_table(*action.table)
                where = action.statement.position
                outcome.update(
                    end=(action.batch.through or where).as_dict(),
                    stopped_at_ddl=list(action.table),
                    error=f"DDL on {name} at {where} ({action.statement.query.strip()[:120]}): catch-up "
                    f"stopped before it at {action.batch.through}; reload {name} "
                    f"(--tables '{action.table[0]}.{action.table[1]}'), then catch up from the "
                    f"new load's report",
                )
                return self._finish(outcome, started, batcher.rows_read)
            if isinstance(action, ApplyBatch):
                self.apply(action.batch)
            if isinstance(event, Heartbeat) and not batcher.committed.rows:
                self.applied_lag = 0.0
            if time.monotonic() - last_log >= self.config.spark.progress_seconds:
                last_log = time.monotonic()
                log.info(
                    "catch-up: at %s, %d row change(s) read, %d applied, lag %.0fs (of the last applied commit)",
                    event.position,
                    batcher.rows_read,
                    self.applied,
                    self.applied_lag,
                )
            reached = batcher.safe_position()
            if self.target is not None and reached is not None and reached >= self.target:
                break
            if follow and (
                self.stop_requested
                or (self.config.catch_up.max_seconds and time.monotonic() - started >= self.config.catch_up.max_seconds)
            ):
                break
        rest = batcher.rest()
        self.apply(rest)
        reason = (
            "SIGTERM"
            if self.stop_requested
            else ("max-seconds" if follow else "reached the server's position at the start")
        )
        outcome.update(end=(rest.through.as_dict() if rest.through else None), stopped=reason)
        return self._finish(outcome, started, batcher.rows_read)

    def _finish(self, outcome: Dict, started: float, events: int) -> Dict:
        seconds = time.monotonic() - started
        outcome.update(
            row_changes=events,
            seconds=round(seconds, 2),
            changes_per_second=round(events / seconds, 1) if seconds > 0 else 0.0,
        )
        return outcome
