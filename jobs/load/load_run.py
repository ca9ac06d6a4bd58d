"""The load: Spark reads each table and writes it to DynamoDB (or stages and imports it), then
verifies. Splits are planned before any DynamoDB table is created: a table that cannot be split
fails alone, and nothing is left created and empty."""

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional

from botocore.client import BaseClient
from pymysql.connections import Connection
from pyspark.sql import SparkSession

from jobs.config import Config
from jobs.dynamodb import tables as dynamo
from jobs.errors import one_line
from jobs.load.frames import ItemFrames, task_slots
from jobs.load.import_load import ImportLoad
from jobs.load.live_rows import LiveRows
from jobs.load.prepare import plan_load_modes, plan_splits
from jobs.load.reads import SourceReads, plan_reads
from jobs.load.resume import decide_resume
from jobs.load.session import SparkFactory
from jobs.load.table_steps import TableSteps
from jobs.load.tracking import Checkpointer
from jobs.mysql import catalog
from jobs.progress import Progress
from jobs.report import FAILED, PLANNED, VERIFY_FAILED, Report, finished
from jobs.state import State
from jobs.table_job import TableJob
from mapping import cost

log = logging.getLogger("mysql2dynamodb")


def load(
    config: Config,
    conn: Connection,
    dynamo_client: BaseClient,
    spark_factory: SparkFactory,
    password: str,
    jobs: List[TableJob],
    report: Report,
) -> Report:
    spark = None if config.run.dry_run or not jobs else spark_factory()
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
        return finished(report)
    assert spark is not None
    frames = ItemFrames(spark, config, password)
    if config.run.verify_only:
        attach_existing(dynamo_client, active)
        checks = TableSteps(spark, config, frames, state=None, reads=reads)
        verify_tables(checks, [job for job in active if job.verification_owed], config)
        return finished(report, reads.slots.peak if reads.slots is not None else None)
    # Loaded either way: other tables' entries (their positions, other databases') are kept;
    # without --resume this run's tables start anew. Read before any table is created.
    state = State.load(config.output.state)
    create_targets(dynamo_client, [j for j in active if j.load_mode == cost.WRITE], config)
    steps = TableSteps(spark, config, frames, state, report.source_position, reads)
    imports = ImportLoad(spark, config, frames, state, dynamo_client, report.source_position, reads)
    ready = [j for j in active if j.result.status == PLANNED]
    to_load = decide_resume(ready, state, config)
    load_tables(steps, imports, to_load, state, config)
    # a repair owed (a reload after catch-up) is verified even with --no-verify
    owed = [j for j in ready if j.verification_owed and (config.run.verify or state.repair_owed(j.identity))]
    verify_tables(steps, owed, config)
    return finished(report, reads.slots.peak if reads.slots is not None else None)


def verify_tables(steps: TableSteps, jobs: List[TableJob], config: Config) -> None:
    """Each table verified in turn, with progress lines of the rows compared so far."""
    if not jobs:
        return
    progress = Progress(config.spark.progress_seconds, live_rows(steps.spark)).start()
    try:
        for job in jobs:
            steps.verify(job, progress)
    finally:
        progress.stop()


def create_targets(dynamo_client: BaseClient, jobs: List[TableJob], config: Config) -> None:
    """Create or reuse every DynamoDB table; tables that cannot be used are marked failed."""
    by_identity = {j.identity: j for j in jobs}

    def table_failed(table_plan, error):
        job = by_identity[table_plan.identity]
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


def by_target(jobs: List[TableJob]) -> List[List[TableJob]]:
    """The jobs grouped by their DynamoDB table, in their order."""
    groups: Dict[str, List[TableJob]] = {}
    for job in jobs:
        groups.setdefault(job.plan.target, []).append(job)
    return list(groups.values())


def load_tables(steps: TableSteps, imports: ImportLoad, jobs: List[TableJob], state: State, config: Config) -> None:
    """The tables' loads, max_concurrent_tables at a time, each in its own Spark scheduler pool.
    The sources of one modelled target load one after another, on that table's write budget."""
    progress = Progress(config.spark.progress_seconds, live_rows(steps.spark)).start()
    checkpointer = Checkpointer(state).start()

    def load(group: List[TableJob]) -> None:
        if len(group) > 1 and all(job.load_mode == cost.IMPORT for job in group):
            imports.load_shared(group, progress)
            return
        for job in group:
            if job.load_mode == cost.IMPORT:
                imports.load(job, progress)
            else:
                steps.load(job, progress, checkpointer)

    try:
        with ThreadPoolExecutor(max_workers=config.spark.max_concurrent_tables) as pool:
            for future in [pool.submit(load, group) for group in by_target(jobs)]:
                future.result()
    finally:
        checkpointer.stop()
        progress.stop()
