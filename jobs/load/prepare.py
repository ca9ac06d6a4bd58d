"""Planning each table before anything is written: its read split, few-HASH-value caps, its
load mode with the estimates it was chosen on (also what the dry run shows)."""

import logging
import math
from typing import Dict, List, Optional, Sequence

from botocore.client import BaseClient
from pymysql.connections import Connection

from jobs.config import Config, DynamoDBConfig
from jobs.dynamodb import tables as dynamo
from jobs.errors import TargetError, one_line
from jobs.mysql.reader import count_rows, sample_rows
from jobs.mysql.splits import count_hash_values, plan_partitioning
from jobs.report import FAILED
from jobs.table_job import TableJob
from mapping import budget, cost

log = logging.getLogger("mysql2dynamodb")


def plan_splits(conn: Connection, jobs: Sequence[TableJob], config: Config, slots: int) -> None:
    for job in jobs:
        try:
            job.partitioning = plan_partitioning(conn, job.plan, config.spark, slots)
        except Exception as e:  # noqa: BLE001 - one table's split must not stop the others
            job.fail(FAILED, f"cannot plan the read split: {one_line(e)}")
            log.error("%s: %s", job.name, job.result.error)
            continue
        job.result.partitions = job.partitioning.description
        find_hot_keys(conn, job, config)


def find_hot_keys(conn: Connection, job: TableJob, config: Config) -> None:
    """A HASH attribute with so few values that DynamoDB's per-value limit is below the rate the
    table could be written at: the load is capped there, and its rows interleaved across values."""
    settings = config.dynamodb
    highest = budget.plan_write_rate(
        configured_wcu(settings), settings.write_percent, settings.on_demand_wcu, settings.target_wcu
    ).ceiling
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
        f"{settings.partition_key_wcu} WCU/s (DynamoDB's limit per key value) and interleaved across values"
    )


def configured_wcu(settings: DynamoDBConfig) -> Optional[int]:
    """The provisioned WCU a table the job creates will have (None: on-demand)."""
    return settings.write_capacity if settings.billing_mode == "PROVISIONED" else None


def plan_load_modes(conn: Connection, dynamo_client: BaseClient, jobs: Sequence[TableJob], config: Config) -> None:
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
        job.estimate = estimate_load(job, config, item_sizes(conn, job, config), estimated_items(conn, job, config))
        job.load_mode, reason = cost.choose_load_mode(
            setting,
            job.description is not None,
            job.estimate,
            config.dynamodb.import_min_saving,
            config.dynamodb.import_min_rows,
        )
        job.result.load_mode, job.result.load_mode_reason = job.load_mode, reason
        job.result.estimate = job.estimate.to_dict()
        log.info(
            "%s: %s (%s); estimated %d items, %d WRU (items sized on %s): write $%.4f in %.0fs at %.0f WCU/s "
            "(%s), import $%.4f",
            job.name,
            job.load_mode,
            reason,
            job.estimate.items,
            job.estimate.write_units,
            job.estimate.basis,
            job.estimate.write_usd,
            job.estimate.write_seconds,
            job.estimate.write_rate,
            (job.result.write_rate or {}).get("reason", ""),
            job.estimate.import_usd,
        )
    one_mode_per_target(jobs)


def one_mode_per_target(jobs: Sequence[TableJob]) -> None:
    """A modelled target's sources load one way: one ImportTable creates the table for all of
    them, so import only when each of them would be imported."""
    targets: Dict[str, List[TableJob]] = {}
    for job in jobs:
        targets.setdefault(job.plan.target, []).append(job)
    for target, group in targets.items():
        writers = [job.name for job in group if job.load_mode != cost.IMPORT]
        if len(group) > 1 and writers and len(writers) < len(group):
            for job in group:
                job.load_mode = job.result.load_mode = cost.WRITE
                job.result.load_mode_reason = f"{target} is shared, and {', '.join(writers)} is written"


def item_sizes(conn: Connection, job: TableJob, config: Config) -> cost.ItemSizes:
    """Items built from a sample of the table's rows, as the load builds them; the declared
    types and the engine's average row length when no row can be read."""
    plan, layout = job.plan, job.plan.layout(config.dynamodb.null_as)
    wanted = config.dynamodb.estimate_sample_rows
    if wanted:
        try:
            rows = sample_rows(conn, plan, job.partitioning, wanted)
            measured = cost.measure_items((plan.layout_row(r) for r in rows), layout)
            if measured:
                return measured
        except Exception as e:  # noqa: BLE001 - an estimate only: the declared types stand in
            log.warning("%s: cannot sample rows for the estimate: %s", job.name, one_line(e))
    source = plan.source
    average_row = source.estimated_bytes / source.estimated_rows if source.estimated_rows else 0
    return cost.declared_sizes(
        sum(len(a.encode("utf-8")) for a in layout.attributes),
        plan.declared_value_bytes(),
        average_row,
        len(layout.attributes),
    )


def estimated_items(conn: Connection, job: TableJob, config: Config) -> int:
    """The table's rows: counted when the estimate is what the run is for (a dry run) or decides
    the load mode, and the statistics say the table is small enough; else the statistics. A
    write-mode load counts its rows itself, and a COUNT(*) would read each row once more."""
    estimated = job.plan.source.estimated_rows
    deciding = config.run.dry_run or config.dynamodb.load_mode != cost.WRITE
    if not deciding or estimated > config.dynamodb.estimate_count_max_rows:
        return estimated
    try:
        return count_rows(conn, job.plan)
    except Exception as e:  # noqa: BLE001 - an estimate only: the statistics stand in
        log.warning("%s: cannot count rows for the estimate: %s", job.name, one_line(e))
        return estimated


def estimate_load(job: TableJob, config: Config, sizes: cost.ItemSizes, items: int) -> cost.Estimate:
    """The table's cost and time estimate at its write rate (an existing table's, or a new one's)."""
    settings = config.dynamodb
    if job.description is not None:
        provisioned, warm = dynamo.provisioned_wcu(job.description), dynamo.warm_write_units(job.description)
    else:  # a table the job will create, with the capacity and warm throughput it asks for
        provisioned, warm = configured_wcu(settings), dynamo.warm_request(None, settings)
    rate = budget.plan_write_rate(
        provisioned,
        settings.write_percent,
        settings.on_demand_wcu,
        settings.target_wcu,
        warm,
        job.hash_values,
        settings.partition_key_wcu,
    )
    job.result.write_rate = rate.to_dict()
    return cost.estimate(items, sizes, rate.ceiling, config.price_list, provisioned)
