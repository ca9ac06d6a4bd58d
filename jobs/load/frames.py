"""A table's item frame: its rows read through JDBC, rendered as strings in the layout's
order, with the synthesised key columns, and grouped so the write or staging tasks can keep
their promises (merged rows counted, few HASH values never written back to back)."""

import dataclasses
from typing import List, Optional, Tuple

from pyspark.sql import DataFrame, SparkSession

from jobs.config import Config
from jobs.load import transforms
from jobs.mysql import reader
from jobs.planner import TablePlan
from jobs.table_job import TableJob


def task_slots(config: Config, spark: Optional[SparkSession]) -> int:
    import os

    if config.spark.task_slots:
        return config.spark.task_slots
    if spark is None:  # a dry run starts no Spark: the machine's cores stand in for the task slots
        return os.cpu_count() or 1
    return spark.sparkContext.defaultParallelism


class ItemFrames:
    """Builds the item frames of a run's tables (one instance per run)."""

    def __init__(self, spark: SparkSession, config: Config, password: str):
        self.spark = spark
        self.config = config
        self.url = reader.jdbc_url(config.mysql)
        self.properties = reader.jdbc_properties(config.mysql, password)
        self.password = password

    def items(self, job: TableJob, todo: Optional[List[int]] = None, read_tasks: Optional[int] = None) -> DataFrame:
        """The table as rows of strings in the layout's order (todo: only these partitions;
        read_tasks: read by at most this many tasks at once, each reading its share of the
        partitions one after another, so at most that many connections are open)."""
        plan, partitioning = job.plan, job.partitioning
        assert partitioning is not None, f"{job.name}: the read split is planned before any frame"
        if todo is not None and partitioning.predicates and len(todo) < len(partitioning.predicates):
            partitioning = dataclasses.replace(partitioning, predicates=tuple(partitioning.predicates[i] for i in todo))
        frame = reader.read_table(self.spark, self.url, self.properties, plan, partitioning)
        partitions = len(partitioning.predicates) or self.write_partitions(job)  # before reads are merged
        if read_tasks is not None and read_tasks < len(partitioning.predicates):
            frame = frame.coalesce(read_tasks)  # narrow: a task reads its partitions in turn
        key = plan.key
        position = {c.name: reader.spark_column(i) for i, c in enumerate(plan.columns)}
        if key.synthesized_range:
            frame = frame.transform(transforms.with_composite_key([position[c] for c in key.range_columns], "k_range"))
        if key.synthesized_hash:
            frame = frame.transform(transforms.with_row_id(list(position.values()), "k_row"))
        if partitioning.redistribute and not key.synthesized_hash:  # row ids already regroup rows
            frame = frame.repartition(task_slots(self.config, self.spark))
        if plan.key_collision:
            # Rows whose key text may repeat meet in one task, adjacent, so the load counts merges.
            key_columns = item_key_columns(plan)
            frame = frame.repartition(partitions, *key_columns).sortWithinPartitions(*key_columns)
        elif job.hash_values and todo is not None:
            frame = spread_keys(frame, plan, partitions)  # few HASH values: never one value's items back to back
        return frame

    def split_coverage(self, job: TableJob) -> Optional[Tuple[int, int]]:
        """(rows in the table, rows its split predicates match); None for a table read whole."""
        partitioning = job.partitioning
        if partitioning is None or not partitioning.predicates:
            return None
        from jobs.mysql.connection import connect

        conn = connect(self.config.mysql, self.password)  # its own: tables verify in threads of their own
        try:
            return reader.split_coverage(conn, job.plan, partitioning)
        finally:
            conn.close()

    def staging(self, job: TableJob, read_tasks: Optional[int] = None) -> DataFrame:
        """The items frame shuffled for ImportTable: each object holds keys spread by a hash of the
        key (never in key order), equal keys adjacent (so merges are counted). Deterministic, so a
        retried task stages the same object."""
        assert job.partitioning is not None
        return spread_keys(self.items(job, read_tasks=read_tasks), job.plan, self.write_partitions(job))

    def write_partitions(self, job: TableJob) -> int:
        """Tasks that write (or stage) the whole table: one per read partition, or, for a table
        read once, one per task slot."""
        partitioning = job.partitioning
        assert partitioning is not None
        if partitioning.predicates:
            return len(partitioning.predicates)
        return task_slots(self.config, self.spark) if partitioning.redistribute else 1


def spread_keys(frame: DataFrame, plan: TablePlan, partitions: int) -> DataFrame:
    """Rows spread over partitions by a hash of the whole key and ordered by it within each,
    so consecutive items alternate between HASH values (and no object or task holds a key
    range). Deterministic, so a retried task sees the same rows in the same order."""
    from pyspark.sql import functions as F

    key_columns = item_key_columns(plan)
    return frame.repartition(partitions, *key_columns).sortWithinPartitions(F.xxhash64(*key_columns), *key_columns)


def item_key_columns(plan: TablePlan) -> List[str]:
    """The frame's columns that make an item's key (synthesised ones included)."""
    key = plan.key
    position = {c.name: reader.spark_column(i) for i, c in enumerate(plan.columns)}
    hash_column = ["k_row"] if key.synthesized_hash else [position[key.hash_column or ""]]
    return hash_column + (["k_range"] if key.synthesized_range else [position[c] for c in key.range_columns])
