"""One migration run: plan on the driver, split, create tables, load each table with Spark, verify.

The caller (CLI or Glue entry) creates the connections and passes them in. Every table is
a TableJob; a table is recorded done in the state only when everything promised for it
held (written, and verified when verification is on).
"""

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional

from botocore.client import BaseClient
from pymysql.connections import Connection
from pyspark.sql import SparkSession

from jobs import catchup
from jobs.config import Config
from jobs.dynamodb import tables as dynamo
from jobs.errors import SourceError, one_line
from jobs.frames import ItemFrames, task_slots
from jobs.import_load import ImportLoad
from jobs.live_rows import LiveRows
from jobs.mysql import catalog, grants
from jobs.planner import Plan, TablePlan, build_plan
from jobs.prepare import plan_load_modes, plan_splits
from jobs.progress import Progress
from jobs.reads import SourceReads, plan_reads
from jobs.report import FAILED, PLANNED, SKIPPED, VERIFY_FAILED, NotMigrated, Report, TableResult, now
from jobs.resume import decide_resume
from jobs.state import State
from jobs.table_job import TableJob
from jobs.table_steps import TableSteps
from jobs.tracking import Checkpointer
from mapping import cost

log = logging.getLogger("mysql2dynamodb")

SparkFactory = Callable[[], SparkSession]


def make_plan(conn: Connection, config: Config, databases: Optional[List[str]] = None) -> Plan:
    tables, others = [], []
    for database in databases if databases is not None else catalog.list_databases(conn, config.source.databases):
        found, skipped = catalog.read_tables(conn, database)
        tables.extend(found)
        others.extend(skipped)
    return build_plan(tables, config, others)


def check_visibility(conn: Connection, databases: List[str], config: Config) -> List[str]:
    """information_schema shows a user only what it may read, and verification reads through
    the same eyes: without SELECT on a whole database, what it cannot see would be left out
    and still verified. Stop, or with source.allow_partial_visibility, say what is unseen."""
    blind = grants.unseen(conn, databases)
    if blind and not config.source.allow_partial_visibility:
        raise SourceError(
            f"{blind[0]}: grant SELECT on the whole database, or set source.allow_partial_visibility "
            "to migrate only what it sees (that run does not exit 0)"
        )
    for line in blind:
        log.warning("not visible: %s", line)
    return blind


def planned_result(plan: TablePlan) -> TableResult:
    return TableResult(
        source=plan.name,
        database=plan.source.database,
        table=plan.source.name,
        target=plan.target,
        key=plan.key.describe(),
        estimated_rows=plan.source.estimated_rows,
        estimated_bytes=plan.source.estimated_bytes,
        notes=list(plan.notes),
    )


def nothing_to_migrate(config: Config, plan: Plan) -> str:
    databases = ", ".join(config.source.databases)
    views = (
        f" (not migrated: {', '.join(f'{o.qualified_name} ({o.kind})' for o in plan.not_migrated)})"
        if plan.not_migrated
        else ""
    )
    if config.source.tables != ["*"] or config.source.exclude:
        filters = " ".join(
            [f"--tables {p!r}" for p in config.source.tables] + [f"--exclude {p!r}" for p in config.source.exclude]
        )
        return f"nothing to migrate: no table of database(s) {databases} matches {filters}{views}"
    return f"nothing to migrate: database(s) {databases} hold no tables{views}"


def run(
    config: Config, conn: Connection, dynamo_client: BaseClient, spark_factory: SparkFactory, password: str
) -> Report:
    report = Report(started_at=now(), dry_run=config.run.dry_run)
    if config.run.catch_up:  # before anything else: each a one-line error naming the fix
        catchup.check_preconditions(conn)
    databases = catalog.list_databases(conn, config.source.databases)
    report.not_visible = check_visibility(conn, databases, config)  # before planning: what it may read
    plan = make_plan(conn, config, databases)
    report.source_position = catalog.source_position(conn)
    report.prices = dataclasses.asdict(config.prices)
    report.not_migrated = [
        NotMigrated(o.qualified_name, o.database, o.name, o.kind, o.reason) for o in plan.not_migrated
    ]
    jobs = [TableJob(p, planned_result(p)) for p in plan.tables]
    report.tables = [j.result for j in jobs] + [
        TableResult(source=s.qualified_name, database=s.database, table=s.name, status=SKIPPED, error=s.reason)
        for s in plan.skipped
    ]
    for skipped in plan.skipped:
        log.warning("skipped %s: %s", skipped.qualified_name, skipped.reason)
    for other in plan.not_migrated:
        log.info("not migrated: %s (%s): %s", other.qualified_name, other.kind, other.reason)
    log.info(
        "plan: %d table(s) to migrate, %d skipped, %d other object(s) not migrated",
        len(plan.tables),
        len(plan.skipped),
        len(plan.not_migrated),
    )
    if not plan.tables and not plan.skipped:
        report.error = nothing_to_migrate(config, plan)
        return _finished(report)
    if config.run.catch_up:
        settings = {"host": config.mysql.host, "port": config.mysql.port, "user": config.mysql.user, "passwd": password}
        catchup.run_catch_up(config, conn, dynamo_client, jobs, report, settings)
        return _finished(report)
    spark = None if config.run.dry_run or not jobs else spark_factory()
    # Splits are planned before any DynamoDB table is created: a table that cannot be split
    # fails alone, and nothing is left created and empty.
    slots = task_slots(config, spark)
    plan_splits(conn, jobs, config, slots)
    slots_taken, report.source_reads = plan_reads(
        config.mysql.max_concurrent_reads, catalog.connection_limits(conn), slots
    )
    reads = SourceReads(slots_taken, slots, config.mysql.connection_retry_seconds)
    log.info("source reads: %s", report.source_reads["summary"])
    active = [j for j in jobs if j.result.status == PLANNED]
    if not config.run.verify_only:
        plan_load_modes(conn, dynamo_client, active, config)
    if config.run.dry_run or not active:
        return _finished(report)
    assert spark is not None
    frames = ItemFrames(spark, config, password)
    if config.run.verify_only:
        attach_existing(dynamo_client, active)
        checks = TableSteps(spark, config, frames, state=None, reads=reads)
        for job in active:
            if job.verification_owed:
                checks.verify(job)
        return _finished(report, reads)
    # Loaded either way: other tables' entries (their positions, other databases') are kept;
    # without --resume this run's tables start anew. Read before any table is created.
    state = State.load(config.output.state)
    create_targets(dynamo_client, [j for j in active if j.load_mode == cost.WRITE], config)
    steps = TableSteps(spark, config, frames, state, report.source_position, reads)
    imports = ImportLoad(spark, config, frames, state, dynamo_client, report.source_position, reads)
    ready = [j for j in active if j.result.status == PLANNED]
    to_load = decide_resume(ready, state, config)
    load_tables(steps, imports, to_load, state, config)
    for job in ready:  # a repair owed (a reload after catch-up) is verified even with --no-verify
        if job.verification_owed and (config.run.verify or state.repair_owed(job.identity)):
            steps.verify(job)
    return _finished(report, reads)


def _finished(report: Report, reads: Optional[SourceReads] = None) -> Report:
    report.finished_at = now()
    if reads is not None and reads.slots is not None and report.source_reads is not None:
        report.source_reads["most_held"] = reads.slots.peak
    return report


def create_targets(dynamo_client: BaseClient, jobs: List[TableJob], config: Config) -> None:
    """Create or reuse every DynamoDB table; tables that cannot be used are marked failed."""
    by_target = {j.plan.target: j for j in jobs}

    def table_failed(table_plan, error):
        job = by_target[table_plan.target]
        job.fail(FAILED, str(error))
        log.error("%s: %s", job.name, error)

    created = dynamo.ensure_tables(dynamo_client, [j.plan for j in jobs], config.dynamodb, table_failed)
    for job in jobs:
        outcome = created.get(job.plan.target)
        if outcome is None:
            continue
        job.description = outcome["table"]
        job.result.table_action, job.result.table_id = outcome["action"], job.table_id
        log.info(
            "%s -> DynamoDB table %s (%s), key %s",
            job.name,
            job.plan.target,
            outcome["action"],
            job.plan.key.describe(),
        )


def attach_existing(dynamo_client: BaseClient, jobs: List[TableJob]) -> None:
    """--verify-only: the DynamoDB tables must already exist; nothing is created."""
    for job in jobs:
        try:
            job.description = dynamo_client.describe_table(TableName=job.plan.target)["Table"]
        except Exception as e:  # noqa: BLE001
            job.fail(VERIFY_FAILED, f"DynamoDB table {job.plan.target}: {one_line(e)}")
            continue
        job.result.table_id = job.table_id
        job.verification_owed = True


def live_rows(spark: SparkSession) -> Optional[LiveRows]:
    """Where tasks send their rows so far; without it progress counts finished partitions only."""
    host = spark.sparkContext.getConf().get("spark.driver.host", "127.0.0.1") or "127.0.0.1"
    try:
        return LiveRows(host)
    except OSError as e:
        log.warning("progress counts finished partitions only: no UDP port on %s (%s)", host, e)
        return None


def load_tables(steps: TableSteps, imports: ImportLoad, jobs: List[TableJob], state: State, config: Config) -> None:
    """The tables' loads, max_concurrent_tables at a time, each in its own Spark scheduler pool."""
    progress = Progress(config.spark.progress_seconds, live_rows(steps.spark)).start()
    checkpointer = Checkpointer(state).start()

    def load(job: TableJob) -> None:
        if job.load_mode == cost.IMPORT:
            imports.load(job, progress)
        else:
            steps.load(job, progress, checkpointer)

    try:
        with ThreadPoolExecutor(max_workers=config.spark.max_concurrent_tables) as pool:
            for future in [pool.submit(load, job) for job in jobs]:
                future.result()
    finally:
        checkpointer.stop()
        progress.stop()
