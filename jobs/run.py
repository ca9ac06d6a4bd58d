"""One migration run: plan on the driver, create tables, load each table with Spark.

The caller (CLI or Glue entry) creates the connections and passes them in.
"""
import dataclasses
import datetime
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Sequence, Tuple

from jobs import catalog, dynamo, load, reader, storage, transforms, verify
from jobs.config import Config
from jobs.errors import MigrationError
from jobs.partitions import plan_partitioning
from jobs.planner import Plan, TablePlan, build_plan
from jobs.progress import Progress
from jobs.report import (ALREADY_DONE, COMPLETED, COMPLETED_WITH_REJECTS, FAILED, PLANNED, SKIPPED, VERIFIED,
                         VERIFY_FAILED, Report, TableResult)
from jobs.state import State, marker_folder, remaining
from mapping import budget
from mapping.partitioning import Partitioning

log = logging.getLogger("mysql2dynamodb")

Ready = Tuple[TablePlan, TableResult, dict]  # a table to load: plan, its report line, DynamoDB description


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def now_precise() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def make_plan(conn, config: Config) -> Plan:
    tables = []
    for database in catalog.list_databases(conn, config.source.databases):
        tables.extend(catalog.read_tables(conn, database))
    return build_plan(tables, config)


def add_partitioning(conn, plans: Sequence[TablePlan], config: Config, task_slots: int) -> None:
    for table_plan in plans:
        table_plan.partitioning = plan_partitioning(conn, table_plan, config.spark, task_slots)


def planned_result(plan: TablePlan) -> TableResult:
    return TableResult(
        source=plan.name, target=plan.target, key=plan.key.describe(),
        partitions=plan.partitioning.description if plan.partitioning else "",
        estimated_rows=plan.source.estimated_rows, estimated_bytes=plan.source.estimated_bytes,
        notes=list(plan.notes),
    )


def run(config: Config, conn, dynamo_client, spark_factory: Callable, password: str) -> Report:
    report = Report(started_at=now(), dry_run=config.run.dry_run)
    plan = make_plan(conn, config)
    report.source_position = catalog.source_position(conn)
    if config.run.dry_run:
        # No Spark in a dry run: the machine's cores stand in for the task slots.
        add_partitioning(conn, plan.tables, config, os.cpu_count() or 1)
    results: List[TableResult] = [planned_result(p) for p in plan.tables]
    report.tables = results + [TableResult(source=name, status=SKIPPED, error=reason) for name, reason in plan.skipped]
    for name, reason in plan.skipped:
        log.warning("skipped %s: %s", name, reason)
    log.info("plan: %d table(s) to migrate, %d skipped", len(plan.tables), len(plan.skipped))
    if config.run.dry_run or not plan.tables:
        report.finished_at = now()
        return report
    if config.run.verify_only:
        ready = existing_targets(dynamo_client, plan, results)
        state = None
    else:
        ready = create_targets(dynamo_client, plan, results, config)
        state = State.load(config.output.state) if config.run.resume else State(config.output.state)
        if config.run.resume:
            ready = skip_finished(ready, state, config)
    spark = spark_factory()
    add_partitioning(conn, [p for p, _, _ in ready], config, spark.sparkContext.defaultParallelism)
    loader = TableLoader(spark, config, password, state)
    if not config.run.verify_only:
        load_tables(loader, ready, config)
    if config.run.verify or config.run.verify_only:
        for table_plan, result, description in ready:
            if result.status in (COMPLETED, COMPLETED_WITH_REJECTS, PLANNED):  # PLANNED: verify-only
                loader.verify(table_plan, result, description)
    report.finished_at = now()
    return report


def create_targets(dynamo_client, plan: Plan, results: List[TableResult], config: Config) -> List[Ready]:
    """Create or reuse every DynamoDB table; tables that cannot be used are marked failed."""
    by_plan = {id(p): r for p, r in zip(plan.tables, results)}

    def table_failed(table_plan, error):
        result = by_plan[id(table_plan)]
        result.status, result.error = FAILED, str(error)
        log.error("%s: %s", table_plan.name, error)

    created = dynamo.ensure_tables(dynamo_client, plan.tables, config.dynamodb, table_failed)
    ready = []
    for table_plan, result in zip(plan.tables, results):
        if table_plan.target in created:
            outcome = created[table_plan.target]
            result.table_action = outcome["action"]
            log.info("%s -> DynamoDB table %s (%s), key %s", table_plan.name, table_plan.target,
                     outcome["action"], table_plan.key.describe())
            ready.append((table_plan, result, outcome["table"]))
    return ready


def existing_targets(dynamo_client, plan: Plan, results: List[TableResult]) -> List[Ready]:
    """--verify-only: the DynamoDB tables must already exist; nothing is created."""
    ready = []
    for table_plan, result in zip(plan.tables, results):
        try:
            description = dynamo_client.describe_table(TableName=table_plan.target)["Table"]
        except Exception as e:  # noqa: BLE001
            result.status, result.error = VERIFY_FAILED, f"DynamoDB table {table_plan.target}: {_one_line(e)}"
            continue
        ready.append((table_plan, result, description))
    return ready


def skip_finished(ready: List[Ready], state: State, config: Config) -> List[Ready]:
    for table_plan, result, _ in ready:
        if state.is_done(table_plan.name):
            result.status = ALREADY_DONE
            result.notes.append(f"finished by an earlier run (state {config.output.state})")
    return [r for r in ready if r[1].status != ALREADY_DONE]


def load_tables(loader: "TableLoader", ready: List[Ready], config: Config) -> None:
    progress = Progress(config.spark.progress_seconds).start()
    try:
        with ThreadPoolExecutor(max_workers=config.spark.max_concurrent_tables) as pool:
            futures = [pool.submit(loader.load, p, r, d, progress) for p, r, d in ready]
            for future in futures:
                future.result()
    finally:
        progress.stop()


class TableLoader:
    def __init__(self, spark, config: Config, password: str, state):
        self.spark = spark
        self.config = config
        self.state = state
        self.url = reader.jdbc_url(config.mysql)
        self.properties = reader.jdbc_properties(config.mysql, password)

    def load(self, plan: TablePlan, result: TableResult, description: dict, progress: Progress) -> None:
        started = time.monotonic()
        result.started_at = now_precise()
        sc = self.spark.sparkContext
        sc.setJobGroup(plan.target, f"migrate {plan.name}")
        sc.setLocalProperty("spark.scheduler.pool", plan.target)
        try:
            todo, markers = self.resume_point(plan, result)
            frame, layout = self.items_frame(plan, todo)
            partitions = frame.rdd.getNumPartitions()
            rejects_path = storage.join(self.config.output.rejects, plan.source.database, plan.source.name)
            if not self.config.run.resume:
                load.clear_rejects(rejects_path)
            spec = load.write_spec(plan, self.config.dynamodb.endpoint_url, self.config.dynamodb.region,
                                   self.rate_per_task(description, partitions), self.config.dynamodb,
                                   rejects_path, layout)
            if markers:
                spec["partition_ids"] = todo
                spec["marker_folder"] = marker_folder(self.config.output.state, plan.target)
            rows_done, partitions_done = sc.accumulator(0), sc.accumulator(0)
            progress.track(plan.name, plan.source.estimated_rows, rows_done, partitions_done, partitions)

            def task(rows):
                for stats in load.write_partition(rows, spec):
                    rows_done.add(stats["rows"])
                    partitions_done.add(1)
                    yield stats

            totals = load.sum_stats(frame.rdd.mapPartitions(task).collect() if todo else [])
            self.state.finish_table(plan.name)
        except Exception as e:  # noqa: BLE001 - one table's failure must not stop the others
            result.status, result.error = FAILED, _one_line(e)
            result.seconds = time.monotonic() - started
            log.error("%s failed: %s", plan.name, result.error)
            return
        finally:
            progress.done(plan.name)
            result.finished_at = now_precise()
        result.rows_read = totals["rows"]
        result.items_written = totals["written"]
        result.rejected = totals["rejected"]
        result.duplicate_rows = totals["duplicate_rows"]
        result.collapsed_duplicates = totals["collapsed_duplicates"]
        result.retried_items = totals["retried_items"]
        result.throttle_events = totals["throttle_events"]
        result.rejects_path = rejects_path if totals["rejected"] else ""
        result.seconds = time.monotonic() - started
        result.status = COMPLETED_WITH_REJECTS if totals["rejected"] else COMPLETED
        log.info("%s: %s, %d rows read, %d items written, %d rejected in %.1fs", plan.name, result.status,
                 result.rows_read, result.items_written, result.rejected, result.seconds)

    def verify(self, plan: TablePlan, result: TableResult, description: dict) -> None:
        sc = self.spark.sparkContext
        sc.setJobGroup(plan.target, f"verify {plan.name}")
        try:
            frame, layout = self.items_frame(plan)
            spec = load.write_spec(plan, self.config.dynamodb.endpoint_url, self.config.dynamodb.region, 1.0,
                                   self.config.dynamodb, "", layout)
            outcome = verify.verify_table(self.spark, frame, spec, segments=max(1, sc.defaultParallelism))
        except Exception as e:  # noqa: BLE001
            result.status, result.error = VERIFY_FAILED, _one_line(e)
            return
        result.verification = outcome
        if outcome["match"]:
            if self.config.run.verify_only:
                result.status = VERIFIED
            log.info("%s: verified, %d rows = %d items, checksum %s", plan.name, outcome["source_rows"],
                     outcome["dynamodb_items"], outcome["source_checksum"])
        else:
            result.status = VERIFY_FAILED
            result.error = (f"verification failed: {outcome['source_rows']} source rows vs "
                            f"{outcome['dynamodb_items']} DynamoDB items, checksums {outcome['source_checksum']} "
                            f"vs {outcome['dynamodb_checksum']}")
            log.error("%s: %s", plan.name, result.error)

    def resume_point(self, plan: TablePlan, result: TableResult):
        """Partitions to load (indices into the table's partitioning) and whether to mark them.

        Tables keyed by a row hash are redone whole: numbering duplicates needs every row.
        """
        markers = not plan.key.synthesized_hash
        saved = self.state.saved_partitioning(plan.name) if self.config.run.resume else None
        if saved is not None:
            plan.partitioning = saved  # the same split as the interrupted run
        finished = self.state.finished_partitions(plan.target) if saved is not None and markers else set()
        todo = remaining(plan.partitioning, finished)
        self.state.start_table(plan.name, plan.target, plan.partitioning, fresh=saved is None)
        result.partitions = plan.partitioning.description
        if finished:
            result.notes.append(f"resumed: {len(finished)} partition(s) finished by an earlier run were skipped")
        return todo, markers

    def items_frame(self, plan: TablePlan, todo=None):
        """The table as rows of strings in item order, plus the attribute name of each column."""
        partitioning = plan.partitioning
        if todo is not None and partitioning.predicates and len(todo) < len(partitioning.predicates):
            subset = Partitioning(partitioning.strategy, partitioning.column_sql,
                                  tuple(partitioning.predicates[i] for i in todo), partitioning.description)
            plan = dataclasses.replace(plan, partitioning=subset)
        frame = reader.read_table(self.spark, self.url, self.properties, plan)
        layout = list(plan.attributes)
        key = plan.key
        position = {c.name: reader.spark_column(i) for i, c in enumerate(plan.columns)}
        if key.synthesized_range:
            frame = frame.transform(transforms.with_composite_key(
                [position[c] for c in key.range_columns], "k_range"))
            layout.append(key.range_attribute)
        if key.synthesized_hash:
            frame = frame.transform(transforms.with_row_id(list(position.values()), "k_row"))
            layout.append(key.hash_attribute)
        return frame, layout

    def rate_per_task(self, description: dict, partitions: int) -> float:
        table_rate = budget.table_write_rate(dynamo.provisioned_wcu(description), self.config.dynamodb.write_percent,
                                             self.config.dynamodb.on_demand_wcu)
        return budget.task_write_rate(table_rate, partitions, self.spark.sparkContext.defaultParallelism)


def _one_line(error: Exception) -> str:
    if isinstance(error, MigrationError):
        return str(error)
    text = str(error)
    for marker in ("WriteFailed: ", "MigrationError: ", "SourceError: "):
        if marker in text:  # an executor's error, wrapped by Spark in a Java stack trace
            return text.split(marker, 1)[1].splitlines()[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if "Exception:" in line or "Error:" in line:
            return f"{type(error).__name__}: {line[:400]}"
    return f"{type(error).__name__}: {lines[0][:400] if lines else ''}"
