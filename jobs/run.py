"""One migration run: plan on the driver, then the catch-up, or the load (jobs/load/load_run.py).

The caller (CLI or Glue entry) creates the connections and passes them in. Every table is
a TableJob; a table is recorded done in the state only when everything promised for it
held (written, and verified when verification is on).
"""

import dataclasses
import logging
from typing import List, Optional

from botocore.client import BaseClient
from pymysql.connections import Connection

from jobs import catchup
from jobs.config import Config
from jobs.errors import SourceError
from jobs.load.session import SparkFactory, running_spark
from jobs.mysql import catalog, grants, xa
from jobs.planner import Plan, TablePlan, build_plan
from jobs.report import SKIPPED, NotMigrated, Report, TableResult, finished, now
from jobs.table_job import TableJob

log = logging.getLogger("mysql2dynamodb")


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
        foreign_keys=list(plan.foreign_key_notes),
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
    if config.run.catch_up or config.run.dry_run or config.run.verify_only:
        report.source_position = catalog.source_position(conn)
    else:  # a load: its position only where no prepared XA transaction straddles it
        report.source_position = xa.position_before_no_prepared_xa(
            conn, lambda: catalog.source_position(conn), config.mysql.prepared_xa_wait_seconds
        )
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
        return finished(report)
    if config.run.catch_up:
        settings = {"host": config.mysql.host, "port": config.mysql.port, "user": config.mysql.user, "passwd": password}
        catchup.run_catch_up(config, conn, dynamo_client, jobs, report, settings, running_spark())
        return finished(report)
    # Spark from here on only: a catch-up runs where pyspark is not even installed.
    from jobs.load.load_run import load

    return load(config, conn, dynamo_client, spark_factory, password, jobs, report)
