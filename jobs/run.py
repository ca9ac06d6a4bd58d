"""One migration run: plan on the driver, create tables, load each table with Spark.

The caller (CLI or Glue entry) creates the connections and passes them in.
"""
import datetime
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List

from jobs import catalog, dynamo, load, reader, storage, transforms
from jobs.config import Config
from jobs.errors import MigrationError
from jobs.partitions import plan_partitioning
from jobs.planner import Plan, TablePlan, build_plan
from jobs.progress import Progress
from jobs.report import (COMPLETED, COMPLETED_WITH_REJECTS, FAILED, PLANNED, SKIPPED, Report,
                         TableResult)

log = logging.getLogger("mysql2dynamodb")


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def now_precise() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def make_plan(conn, config: Config) -> Plan:
    tables = []
    for database in catalog.list_databases(conn, config.source.databases):
        tables.extend(catalog.read_tables(conn, database))
    return build_plan(tables, config)


def add_partitioning(conn, plan: Plan, config: Config, task_slots: int) -> None:
    for table_plan in plan.tables:
        table_plan.partitioning = plan_partitioning(conn, table_plan, config.spark, task_slots)


def planned_result(plan: TablePlan) -> TableResult:
    return TableResult(
        source=plan.name, target=plan.target, key=plan.key.describe(),
        partitions=plan.partitioning.description if plan.partitioning else "",
        estimated_rows=plan.source.estimated_rows, notes=list(plan.notes),
    )


def run(config: Config, conn, dynamo_client, spark_factory: Callable, password: str) -> Report:
    report = Report(started_at=now(), dry_run=config.run.dry_run)
    plan = make_plan(conn, config)
    report.source_position = catalog.source_position(conn)
    if config.run.dry_run:
        # No Spark in a dry run: the machine's cores stand in for the task slots.
        add_partitioning(conn, plan, config, os.cpu_count() or 1)
    results: List[TableResult] = [planned_result(p) for p in plan.tables]
    report.tables = results + [TableResult(source=name, status=SKIPPED, error=reason) for name, reason in plan.skipped]
    for name, reason in plan.skipped:
        log.warning("skipped %s: %s", name, reason)
    log.info("plan: %d table(s) to migrate, %d skipped", len(plan.tables), len(plan.skipped))
    if config.run.dry_run or not plan.tables:
        report.finished_at = now()
        return report

    by_plan = {id(p): r for p, r in zip(plan.tables, results)}

    def table_failed(table_plan, error):
        result = by_plan[id(table_plan)]
        result.status, result.error = FAILED, str(error)
        log.error("%s: %s", table_plan.name, error)

    created = dynamo.ensure_tables(dynamo_client, plan.tables, config.dynamodb, table_failed)
    ready = []
    for table_plan, result in zip(plan.tables, results):
        if table_plan.target not in created:
            continue
        outcome = created[table_plan.target]
        result.table_action = outcome["action"]
        log.info("%s -> DynamoDB table %s (%s), key %s", table_plan.name, table_plan.target,
                 outcome["action"], table_plan.key.describe())
        ready.append((table_plan, result, outcome["table"]))

    spark = spark_factory()
    add_partitioning(conn, plan, config, spark.sparkContext.defaultParallelism)
    for table_plan, result, _ in ready:
        result.partitions = table_plan.partitioning.description
    loader = TableLoader(spark, config, password)
    progress = Progress(config.spark.progress_seconds).start()
    try:
        with ThreadPoolExecutor(max_workers=config.spark.max_concurrent_tables) as pool:
            futures = [pool.submit(loader.load, p, r, d, progress) for p, r, d in ready]
            for future in futures:
                future.result()
    finally:
        progress.stop()
    report.finished_at = now()
    return report


class TableLoader:
    def __init__(self, spark, config: Config, password: str):
        self.spark = spark
        self.config = config
        self.url = reader.jdbc_url(config.mysql)
        self.properties = reader.jdbc_properties(config.mysql, password)

    def load(self, plan: TablePlan, result: TableResult, description: dict, progress: Progress) -> None:
        started = time.monotonic()
        result.started_at = now_precise()
        sc = self.spark.sparkContext
        sc.setJobGroup(plan.target, f"migrate {plan.name}")
        sc.setLocalProperty("spark.scheduler.pool", plan.target)
        try:
            frame, layout = self.items_frame(plan)
            partitions = frame.rdd.getNumPartitions()
            rejects_path = storage.join(self.config.output.rejects, plan.source.database, plan.source.name)
            load.clear_rejects(rejects_path)
            spec = load.write_spec(plan, self.config.dynamodb.endpoint_url, self.config.dynamodb.region,
                                   self.rate_per_task(description, partitions), self.config.dynamodb,
                                   rejects_path, layout)
            counter = sc.accumulator(0)
            progress.track(plan.name, plan.source.estimated_rows, counter)

            def task(rows):
                for stats in load.write_partition(rows, spec):
                    counter.add(stats["rows"])
                    yield stats

            totals = load.sum_stats(frame.rdd.mapPartitions(task).collect())
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

    def items_frame(self, plan: TablePlan):
        """The table as rows of strings in item order, plus the attribute name of each column."""
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
        """This table's write budget split over the tasks that can run at once."""
        wcu = dynamo.provisioned_wcu(description)
        budget = wcu * self.config.dynamodb.write_percent if wcu else self.config.dynamodb.on_demand_wcu
        slots = max(1, self.spark.sparkContext.defaultParallelism)
        return max(1.0, budget / max(1, min(partitions, slots)))


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
