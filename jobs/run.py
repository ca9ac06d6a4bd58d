"""One migration run: plan on the driver, split, create tables, load each table with Spark, verify.

The caller (CLI or Glue entry) creates the connections and passes them in. Every table is
a TableJob; a table is recorded done in the state only when everything promised for it
held (written, and verified when verification is on).
"""
import dataclasses
import datetime
import logging
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional, Sequence

from jobs import catchup, state as states, storage, transforms
from jobs.mysql import catalog, reader
from jobs.dynamodb import importer, verify
from jobs.dynamodb import tables as dynamo
from jobs.config import Config
from jobs.errors import TargetError, one_line
from jobs.dynamodb.write_task import STAGED_SUFFIX, clear_rejects, clear_staged, sum_stats, write_partition
from jobs.mysql.splits import count_hash_values, plan_partitioning
from jobs.planner import Plan, TablePlan, build_plan
from jobs.progress import Progress
from jobs.report import (ALREADY_DONE, COMPLETED, COMPLETED_WITH_REJECTS, FAILED, PLANNED, SKIPPED, VERIFIED,
                         VERIFY_FAILED, NotMigrated, Report, TableResult)
from jobs.spec import Endpoint, LoadSpec, VerifySpec
from jobs.state import ResumePoint, State, remaining, resume_point
from jobs.table_job import TableJob
from jobs.tracking import Checkpointer, PartitionLog
from mapping import budget, cost
from mapping.items import ItemLayout
from mapping.names import path_component

log = logging.getLogger("mysql2dynamodb")


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def now_precise() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def make_plan(conn, config: Config) -> Plan:
    tables, others = [], []
    for database in catalog.list_databases(conn, config.source.databases):
        found, skipped = catalog.read_tables(conn, database)
        tables.extend(found)
        others.extend(skipped)
    return build_plan(tables, config, others)


def planned_result(plan: TablePlan) -> TableResult:
    return TableResult(
        source=plan.name, database=plan.source.database, table=plan.source.name, target=plan.target,
        key=plan.key.describe(), estimated_rows=plan.source.estimated_rows,
        estimated_bytes=plan.source.estimated_bytes, notes=list(plan.notes),
    )


def nothing_to_migrate(config: Config, plan: Plan) -> str:
    databases = ", ".join(config.source.databases)
    views = f" (not migrated: {', '.join(f'{o.qualified_name} ({o.kind})' for o in plan.not_migrated)})" \
        if plan.not_migrated else ""
    if config.source.tables != ["*"] or config.source.exclude:
        filters = " ".join([f"--tables {p!r}" for p in config.source.tables]
                           + [f"--exclude {p!r}" for p in config.source.exclude])
        return f"nothing to migrate: no table of database(s) {databases} matches {filters}{views}"
    return f"nothing to migrate: database(s) {databases} hold no tables{views}"


def task_slots(config: Config, spark) -> int:
    if config.spark.task_slots:
        return config.spark.task_slots
    if spark is None:  # a dry run starts no Spark: the machine's cores stand in for the task slots
        return os.cpu_count() or 1
    return spark.sparkContext.defaultParallelism


def run(config: Config, conn, dynamo_client, spark_factory: Callable, password: str) -> Report:
    report = Report(started_at=now(), dry_run=config.run.dry_run)
    if config.run.catch_up:  # before anything else: each a one-line error naming the fix
        catchup.check_preconditions(conn)
    plan = make_plan(conn, config)
    report.source_position = catalog.source_position(conn)
    report.prices = dataclasses.asdict(config.prices)
    report.not_migrated = [NotMigrated(o.qualified_name, o.database, o.name, o.kind, o.reason)
                           for o in plan.not_migrated]
    jobs = [TableJob(p, planned_result(p)) for p in plan.tables]
    report.tables = [j.result for j in jobs] + [
        TableResult(source=s.qualified_name, database=s.database, table=s.name, status=SKIPPED, error=s.reason)
        for s in plan.skipped]
    for skipped in plan.skipped:
        log.warning("skipped %s: %s", skipped.qualified_name, skipped.reason)
    for other in plan.not_migrated:
        log.info("not migrated: %s (%s): %s", other.qualified_name, other.kind, other.reason)
    log.info("plan: %d table(s) to migrate, %d skipped, %d other object(s) not migrated",
             len(plan.tables), len(plan.skipped), len(plan.not_migrated))
    if not plan.tables and not plan.skipped:
        report.error = nothing_to_migrate(config, plan)
        return _finished(report)
    if config.run.catch_up:
        settings = {"host": config.mysql.host, "port": config.mysql.port, "user": config.mysql.user,
                    "passwd": password}
        catchup.run_catch_up(config, conn, dynamo_client, jobs, report, settings)
        return _finished(report)
    spark = None if config.run.dry_run or not jobs else spark_factory()
    # Splits are planned before any DynamoDB table is created: a table that cannot be split
    # fails alone, and nothing is left created and empty.
    plan_splits(conn, jobs, config, task_slots(config, spark))
    active = [j for j in jobs if j.result.status == PLANNED]
    if not config.run.verify_only:
        plan_load_modes(dynamo_client, active, config)
    if config.run.dry_run or not active:
        return _finished(report)
    runner = TableRunner(spark, config, password, dynamo_client=dynamo_client)
    if config.run.verify_only:
        attach_existing(dynamo_client, active)
        for job in active:
            if job.verification_owed:
                runner.verify(job)
        return _finished(report)
    create_targets(dynamo_client, [j for j in active if j.load_mode == cost.WRITE], config)
    state = State.load(config.output.state) if config.run.resume else State(config.output.state)
    runner.state = state
    ready = [j for j in active if j.result.status == PLANNED]
    to_load = decide_resume(ready, state, config)
    load_tables(runner, to_load, state, config)
    if config.run.verify:
        for job in ready:
            if job.verification_owed:
                runner.verify(job)
    return _finished(report)


def _raise_error(plan, error):
    raise error


def _import_token() -> str:
    import uuid

    return uuid.uuid4().hex


def _finished(report: Report) -> Report:
    report.finished_at = now()
    return report


def plan_splits(conn, jobs: Sequence[TableJob], config: Config, slots: int) -> None:
    for job in jobs:
        try:
            job.partitioning = plan_partitioning(conn, job.plan, config.spark, slots)
        except Exception as e:  # noqa: BLE001 - one table's split must not stop the others
            job.fail(FAILED, f"cannot plan the read split: {one_line(e)}")
            log.error("%s: %s", job.name, job.result.error)
            continue
        job.result.partitions = job.partitioning.description
        find_hot_keys(conn, job, config)


def find_hot_keys(conn, job: TableJob, config: Config) -> None:
    """A HASH attribute with so few values that DynamoDB's per-value limit is below the rate the
    table could be written at: the load is capped there, and its rows interleaved across values."""
    settings = config.dynamodb
    highest = budget.plan_write_rate(configured_wcu(settings), settings.write_percent, settings.on_demand_wcu,
                                     settings.target_wcu).ceiling
    try:
        values = count_hash_values(conn, job.plan, math.ceil(highest / settings.partition_key_wcu))
    except Exception as e:  # noqa: BLE001 - an estimate only: the load goes on without it
        log.warning("%s: cannot count the HASH key's values: %s", job.name, one_line(e))
        return
    if values is None or values * settings.partition_key_wcu >= highest:
        return
    job.hash_values = values
    job.result.notes.append(
        f"HASH {job.plan.key.hash_attribute} has {values} distinct value(s): writes capped at {values} x "
        f"{settings.partition_key_wcu} WCU/s (DynamoDB's limit per key value) and interleaved across values")


def configured_wcu(settings) -> Optional[int]:
    """The provisioned WCU a table the job creates will have (None: on-demand)."""
    return settings.write_capacity if settings.billing_mode == "PROVISIONED" else None


def plan_load_modes(dynamo_client, jobs: Sequence[TableJob], config: Config) -> None:
    """Each table's load mode, with the estimates it was chosen on (also shown by the dry run).

    Targets are described (read-only) only when import is possible: in write mode the dry run
    touches no DynamoDB table and the estimates assume the configured rate.
    """
    setting = config.dynamodb.load_mode
    for job in jobs:
        if setting != cost.WRITE:
            try:
                job.description = dynamo.describe_if_exists(dynamo_client, job.plan.target, config.dynamodb)
            except TargetError as e:
                job.fail(FAILED, str(e))
                continue
        job.estimate = estimate_load(job, config)
        job.load_mode, reason = cost.choose_load_mode(
            setting, job.description is not None, job.estimate, config.dynamodb.import_min_saving,
            config.dynamodb.import_min_rows)
        job.result.load_mode, job.result.load_mode_reason = job.load_mode, reason
        job.result.estimate = job.estimate.to_dict()
        log.info("%s: %s (%s); estimated %d items, %d WRU: write $%.4f in %.0fs at %.0f WCU/s (%s), import $%.4f",
                 job.name, job.load_mode, reason, job.estimate.items, job.estimate.write_units,
                 job.estimate.write_usd, job.estimate.write_seconds, job.estimate.write_rate,
                 job.result.write_rate["reason"], job.estimate.import_usd)


def estimate_load(job: TableJob, config: Config) -> cost.Estimate:
    """The table's cost and time estimate at its write rate (an existing table's, or a new one's)."""
    plan, settings = job.plan, config.dynamodb
    if job.description is not None:
        provisioned, warm = dynamo.provisioned_wcu(job.description), dynamo.warm_write_units(job.description)
    else:  # a table the job will create, with the capacity and warm throughput it asks for
        provisioned, warm = configured_wcu(settings), dynamo.warm_request(None, settings)
    rate = budget.plan_write_rate(provisioned, settings.write_percent, settings.on_demand_wcu, settings.target_wcu,
                                  warm, job.hash_values, settings.partition_key_wcu)
    job.result.write_rate = rate.to_dict()
    source = plan.source
    average_row = source.estimated_bytes / source.estimated_rows if source.estimated_rows else 0
    layout = plan.layout(settings.null_as)
    item_bytes = cost.average_item_bytes(sum(len(a.encode("utf-8")) for a in layout.attributes),
                                         plan.declared_value_bytes(), average_row)
    return cost.estimate(source.estimated_rows, item_bytes, len(layout.attributes), rate.ceiling, config.price_list,
                         provisioned)


def create_targets(dynamo_client, jobs: List[TableJob], config: Config) -> None:
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
        log.info("%s -> DynamoDB table %s (%s), key %s", job.name, job.plan.target, outcome["action"],
                 job.plan.key.describe())


def attach_existing(dynamo_client, jobs: List[TableJob]) -> None:
    """--verify-only: the DynamoDB tables must already exist; nothing is created."""
    for job in jobs:
        try:
            job.description = dynamo_client.describe_table(TableName=job.plan.target)["Table"]
        except Exception as e:  # noqa: BLE001
            job.fail(VERIFY_FAILED, f"DynamoDB table {job.plan.target}: {one_line(e)}")
            continue
        job.result.table_id = job.table_id
        job.verification_owed = True


def decide_resume(jobs: List[TableJob], state: State, config: Config) -> List[TableJob]:
    """Set each table's resume point; return the tables that have something to load."""
    to_load = []
    for job in jobs:
        entry = state.entry(job.identity) if config.run.resume else None
        if job.load_mode == cost.IMPORT and job.description is not None:
            if not _resume_import(job, entry, config):
                continue
        elif config.run.resume:
            job.resume = resume_point(entry, job.plan.target, job.table_id, config.run.verify,
                                      job.partitions_trusted)
        if job.resume.note:
            job.result.notes.append(job.resume.note)
        if job.resume.action == "load":
            to_load.append(job)
            continue
        job.result.status = ALREADY_DONE
        job.verification_owed = job.resume.action == "verify"
        log.info("%s: %s", job.name, job.resume.note)
    return to_load


def _resume_import(job: TableJob, entry: Optional[dict], config: Config) -> bool:
    """An import-mode table whose DynamoDB table exists: the earlier run's own import (finished,
    or still running: then this run waits for it), or a table this run must not touch."""
    arn = (entry or {}).get("import_arn")
    if entry and entry.get("status") == states.IMPORTING and arn and job.plan.target in arn.split("/import/")[0]:
        job.adopted_import = arn
        job.resume = ResumePoint("load", note=f"an earlier run's import {arn} is taken up")
        return True
    if entry:
        job.resume = resume_point(entry, job.plan.target, job.table_id, config.run.verify, False)
        if job.resume.action != "load":
            return True
    job.fail(FAILED, f"DynamoDB table {job.plan.target} exists and ImportTable only creates tables; nothing "
                     f"was written (drop it, resume the run that imported it with --resume, or use "
                     f"--load-mode write or auto)")
    log.error("%s: %s", job.name, job.result.error)
    return False


def load_tables(runner: "TableRunner", jobs: List[TableJob], state: State, config: Config) -> None:
    progress = Progress(config.spark.progress_seconds).start()
    checkpointer = Checkpointer(state).start()
    try:
        with ThreadPoolExecutor(max_workers=config.spark.max_concurrent_tables) as pool:
            futures = [pool.submit(runner.load, job, progress, checkpointer) for job in jobs]
            for future in futures:
                future.result()
    finally:
        checkpointer.stop()
        progress.stop()


def run_write_tasks(frame, spec: LoadSpec, partition_log: PartitionLog) -> None:
    """write_partition over every partition of frame (items, or staged objects with
    spec.staging_path); each finished partition's stats reach the driver through the log's
    accumulator. A module function, so the task Spark ships captures only spec and accumulator."""
    accumulator = partition_log.accumulator

    def task(rows):
        for stats in write_partition(rows, spec):
            accumulator.add([stats])
            yield stats["rows"]

    frame.rdd.mapPartitions(task).count()


class TableRunner:
    """Loads and verifies tables with Spark; one instance per run, shared by the table threads."""

    def __init__(self, spark, config: Config, password: str, state: Optional[State] = None, dynamo_client=None):
        self.spark = spark
        self.config = config
        self.state = state
        self.dynamo_client = dynamo_client  # the driver's: imports and the tables they create
        self.url = reader.jdbc_url(config.mysql)
        self.properties = reader.jdbc_properties(config.mysql, password)
        self.endpoint = Endpoint(config.dynamodb.endpoint_url, config.dynamodb.region)

    def load(self, job: TableJob, progress: Progress, checkpointer: Checkpointer) -> None:
        if job.load_mode == cost.IMPORT:
            self.stage_and_import(job, progress)
            return
        plan, result = job.plan, job.result
        started = time.monotonic()
        result.started_at = now_precise()
        sc = self.spark.sparkContext
        sc.setJobGroup(plan.target, f"migrate {plan.name}")
        sc.setLocalProperty("spark.scheduler.pool", plan.target)
        if job.resume.partitioning is not None:
            job.partitioning = job.resume.partitioning  # the same split as the interrupted run
            result.partitions = job.partitioning.description
        todo = remaining(job.partitioning, job.resume.finished)
        rejects_path = self.table_path(self.config.output.rejects, plan)
        partition_log = PartitionLog(sc)
        try:
            if not job.resume.finished:
                clear_rejects(rejects_path)
            self.state.start_table(job.identity, plan.target, job.table_id, job.partitioning, job.resume.finished)
            if todo:
                self._write(job, todo, rejects_path, partition_log, progress, checkpointer)
        except Exception as e:  # noqa: BLE001 - one table's failure must not stop the others
            self._record(job, checkpointer, partition_log, rejects_path, started)
            job.fail(FAILED, one_line(e))
            self.state.set_status(job.identity, states.FAILED)
            log.error("%s failed after %d partition(s), %d items written: %s", plan.name,
                      result.partitions_finished, result.items_written, result.error)
            return
        finally:
            progress.done(plan.name)
            result.finished_at = now_precise()
        self._record(job, checkpointer, partition_log, rejects_path, started)
        self._finish_load(job)

    def _finish_load(self, job: TableJob) -> None:
        plan, result = job.plan, job.result
        job.verification_owed = self.config.run.verify  # with merged rows too: it names the shared keys
        if result.merged_rows:
            job.fail(FAILED, f"{result.merged_rows} row(s) merged into other rows' items: {plan.key_collision}")
            self.state.set_status(job.identity, states.CHECK_FAILED)
            log.error("%s: %s", plan.name, result.error)
            return
        result.status = COMPLETED_WITH_REJECTS if result.rejected else COMPLETED
        self.state.set_status(job.identity, states.WRITTEN if job.verification_owed else states.DONE)
        log.info("%s: %s, %d rows read, %d items written, %d rejected in %.1fs", plan.name, result.status,
                 result.rows_read, result.items_written, result.rejected, result.seconds)

    def stage_and_import(self, job: TableJob, progress: Progress) -> None:
        """Import mode: stage the items as DynamoDB JSON (rejects decided as in write mode), then
        ImportTable, which creates the table. Staging is redone whole if the import did not finish."""
        plan, result = job.plan, job.result
        started = time.monotonic()
        result.started_at = now_precise()
        rejects_path = self.table_path(self.config.output.rejects, plan)
        staging_path = self.table_path(self.config.output.staging, plan)
        try:
            if job.adopted_import:
                staged = int(self.state.entry(job.identity).get("staged_items", 0))
                result.items_staged = staged
                self._import(job, staging_path, staged, arn=job.adopted_import)
            else:
                clear_rejects(rejects_path)
                clear_staged(staging_path)
                self.state.start_table(job.identity, plan.target, "", job.partitioning, {})
                totals, partitions = self._stage(job, rejects_path, staging_path, progress)
                result.record_load(totals, partitions, rejects_path, time.monotonic() - started)
                result.items_staged, result.items_written = totals["written"], 0
                if result.merged_rows:
                    self._finish_load(job)  # fails the table before anything is imported
                    return
                self._import(job, staging_path, totals["written"])
        except Exception as e:  # noqa: BLE001 - one table's failure must not stop the others
            job.fail(FAILED, one_line(e))
            self.state.set_status(job.identity, states.FAILED)
            log.error("%s failed: %s", plan.name, result.error)
            return
        finally:
            progress.done(plan.name)
            result.finished_at = now_precise()
            result.seconds = time.monotonic() - started
        self._finish_load(job)

    def _stage(self, job: TableJob, rejects_path: str, staging_path: str, progress: Progress):
        plan = job.plan
        sc = self.spark.sparkContext
        sc.setJobGroup(plan.target, f"stage {plan.name}")
        sc.setLocalProperty("spark.scheduler.pool", plan.target)
        frame = self.staging_frame(job)
        spec = LoadSpec(plan.source.database, plan.source.name, plan.target, self.endpoint, self.layout(plan),
                        1.0, self.config.dynamodb.max_retry_seconds, rejects_path,
                        count_merged=bool(plan.key_collision), staging_path=staging_path)
        partition_log = PartitionLog(sc)
        progress.track(plan.name, plan.source.estimated_rows, partition_log, frame.rdd.getNumPartitions())
        run_write_tasks(frame, spec, partition_log)
        finished = partition_log.finished()
        log.info("%s: staged %d objects under %s", plan.name, len(finished), staging_path)
        return sum_stats(finished.values()), len(finished)

    def _import(self, job: TableJob, staging_path: str, staged: int, arn: Optional[str] = None) -> None:
        """ImportTable over the staged objects (or take up an earlier run's), wait, check, bind the state."""
        plan, result, client = job.plan, job.result, self.dynamo_client
        if staged == 0 and arn is None:  # nothing to import: an empty table is created directly
            created = dynamo.ensure_tables(client, [plan], self.config.dynamodb, _raise_error)
            job.description = created[plan.target]["table"]
            result.table_action, result.table_id = "created (empty)", job.table_id
            self.state.bind_table(job.identity, job.table_id)
            return
        if arn is None:
            arn = importer.start_import(client, plan, self.config.dynamodb, staging_path, token=_import_token())
            self.state.record_import(job.identity, arn, staged)
            log.info("%s: import %s started over %d staged item(s)", plan.name, arn, staged)

        def waiting(description):
            log.info("%s: import %s: %s, %s item(s) processed", plan.name, arn, description.get("ImportStatus"),
                     description.get("ProcessedItemCount", 0))

        description = importer.wait_import(client, arn, self.config.dynamodb.import_wait_seconds, waiting)
        result.imported = importer.import_summary(description)
        failure = importer.import_failure(description, staged)
        if failure:
            raise TargetError(failure)
        result.items_written = int(description.get("ImportedItemCount") or 0)
        job.description = dynamo.wait_active(client, plan.target, self.config.dynamodb)
        result.table_action, result.table_id = "imported", job.table_id
        self.state.bind_table(job.identity, job.table_id)
        log.info("%s: import %s completed: %d item(s)", plan.name, arn, result.items_written)

    def _write(self, job: TableJob, todo: List[int], rejects_path: str, partition_log: PartitionLog,
               progress: Progress, checkpointer: Checkpointer) -> None:
        plan = job.plan
        frame = self.items_frame(job, todo)
        partitions = frame.rdd.getNumPartitions()
        start, ceiling = self.rates_per_task(job, partitions)
        spec = LoadSpec(plan.source.database, plan.source.name, plan.target, self.endpoint, self.layout(plan),
                        start, self.config.dynamodb.max_retry_seconds,
                        rejects_path, partition_ids=tuple(todo) if job.partitions_trusted else (),
                        count_merged=bool(plan.key_collision), ceiling_per_task=ceiling)
        checkpointer.track(job.identity, partition_log)
        progress.track(plan.name, plan.source.estimated_rows, partition_log, partitions)
        run_write_tasks(frame, spec, partition_log)

    def _record(self, job: TableJob, checkpointer: Checkpointer, partition_log: PartitionLog,
                rejects_path: str, started: float) -> None:
        """The report's counts: the partitions Spark counted as finished in this run, and only those."""
        checkpointer.flush(job.identity)
        finished = partition_log.finished()
        job.result.record_load(sum_stats(finished.values()), len(finished), rejects_path, time.monotonic() - started)

    def verify(self, job: TableJob) -> None:
        plan, result = job.plan, job.result
        sc = self.spark.sparkContext
        sc.setJobGroup(plan.target, f"verify {plan.name}")
        try:
            frame = self.items_frame(job)
            spec = VerifySpec(plan.target, self.endpoint, self.layout(plan))
            outcome = verify.verify_table(self.spark, frame, spec, segments=max(1, sc.defaultParallelism))
        except Exception as e:  # noqa: BLE001 - the state keeps "written": a resume verifies again
            job.fail(VERIFY_FAILED, one_line(e))
            log.error("%s: verification failed to run: %s", plan.name, result.error)
            return
        result.verification = outcome
        if outcome["match"]:
            if self.config.run.verify_only:
                result.status = VERIFIED
            else:
                self.state.set_status(job.identity, states.DONE)
            log.info("%s: verified, %d rows = %d items, checksum %s", plan.name, outcome["source_rows"],
                     outcome["dynamodb_items"], outcome["source_checksum"])
            return
        merged = f", {outcome['merged_rows']} row(s) share another row's key" if outcome.get("merged_rows") else ""
        job.fail(VERIFY_FAILED, f"verification failed: {outcome['source_rows']} source rows vs "
                                f"{outcome['dynamodb_items']} DynamoDB items{merged}, checksums "
                                f"{outcome['source_checksum']} vs {outcome['dynamodb_checksum']}")
        if not self.config.run.verify_only:
            self.state.set_status(job.identity, states.CHECK_FAILED)
        log.error("%s: %s", plan.name, result.error)

    def table_path(self, base: str, plan: TablePlan) -> str:
        """A table's own folder under base (rejects, staging): one per (database, table)."""
        return storage.join(base, path_component(plan.source.database), path_component(plan.source.name))

    def layout(self, plan: TablePlan) -> ItemLayout:
        return plan.layout(self.config.dynamodb.null_as)

    def items_frame(self, job: TableJob, todo: Optional[List[int]] = None):
        """The table as rows of strings in the layout's order (todo: only these partitions)."""
        plan, partitioning = job.plan, job.partitioning
        if todo is not None and partitioning.predicates and len(todo) < len(partitioning.predicates):
            partitioning = dataclasses.replace(partitioning, predicates=tuple(partitioning.predicates[i] for i in todo))
        frame = reader.read_table(self.spark, self.url, self.properties, plan, partitioning)
        key = plan.key
        position = {c.name: reader.spark_column(i) for i, c in enumerate(plan.columns)}
        if key.synthesized_range:
            frame = frame.transform(transforms.with_composite_key(
                [position[c] for c in key.range_columns], "k_range"))
        if key.synthesized_hash:
            frame = frame.transform(transforms.with_row_id(list(position.values()), "k_row"))
        if partitioning.redistribute and not key.synthesized_hash:  # row ids already regroup rows
            frame = frame.repartition(task_slots(self.config, self.spark))
        if plan.key_collision:
            # Rows whose key text may repeat meet in one task, adjacent, so the load counts merges.
            key_columns = self.item_key_columns(plan)
            frame = frame.repartition(max(1, frame.rdd.getNumPartitions()), *key_columns) \
                .sortWithinPartitions(*key_columns)
        elif job.hash_values and todo is not None:
            frame = self.spread_keys(frame, plan)  # few HASH values: never one value's items back to back
        return frame

    def spread_keys(self, frame, plan: TablePlan):
        """Rows spread over partitions by a hash of the whole key and ordered by it within each,
        so consecutive items alternate between HASH values (and no object or task holds a key
        range). Deterministic, so a retried task sees the same rows in the same order."""
        from pyspark.sql import functions as F

        key_columns = self.item_key_columns(plan)
        return frame.repartition(max(1, frame.rdd.getNumPartitions()), *key_columns) \
            .sortWithinPartitions(F.xxhash64(*key_columns), *key_columns)

    @staticmethod
    def item_key_columns(plan: TablePlan) -> List[str]:
        """The frame's columns that make an item's key (synthesised ones included)."""
        key = plan.key
        position = {c.name: reader.spark_column(i) for i, c in enumerate(plan.columns)}
        hash_column = ["k_row"] if key.synthesized_hash else [position[key.hash_column]]
        return hash_column + (["k_range"] if key.synthesized_range else [position[c] for c in key.range_columns])

    def staging_frame(self, job: TableJob):
        """The items frame shuffled for ImportTable: each object holds keys spread by a hash of the
        key (never in key order), equal keys adjacent (so merges are counted). Deterministic, so a
        retried task stages the same object."""
        return self.spread_keys(self.items_frame(job), job.plan)

    def rates_per_task(self, job: TableJob, partitions: int):
        """Each task's starting rate and ceiling: the table's, split over the tasks writing at once."""
        rate = dynamo.table_write_rate(job.description, self.config.dynamodb, job.hash_values)
        job.result.write_rate = rate.to_dict()
        slots = task_slots(self.config, self.spark)
        return (budget.task_write_rate(rate.start, partitions, slots),
                budget.task_write_rate(rate.ceiling, partitions, slots))

