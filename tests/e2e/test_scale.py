"""Parallel reads without skew, huge unsigned keys, and many tables at once."""

import datetime

import pytest

from jobs.config import Config, merge
from jobs.mysql import catalog, reader
from jobs.mysql.splits import plan_partitioning
from jobs.planner import build_plan
from tests.e2e.stack import dynamo_items, run_job

TOP = 2**64 - 1


@pytest.fixture(scope="module")
def skewed(stack):
    dense = [(i, f"d{i}") for i in range(1, 3001)]
    sparse = [(TOP - i * 7919, f"s{i}") for i in range(1000)]  # far above 2^63-1
    return stack.fresh_database(
        "scale_db",
        "CREATE TABLE skewed (id BIGINT UNSIGNED PRIMARY KEY, v VARCHAR(20))",
        "CREATE TABLE text_keyed (code VARCHAR(12) PRIMARY KEY, v INT)",
        rows={"skewed": dense + sparse, "text_keyed": [(f"k{i:05d}", i) for i in range(2000)]},
    )


def partition_sizes(conn, table, rows_per_partition):
    config = merge(Config(), {"spark": {"rows_per_partition": rows_per_partition}}, "test")
    plan = next(
        p for p in build_plan(catalog.read_tables(conn, "scale_db")[0], config).tables if p.source.name == table
    )
    partitioning = plan_partitioning(conn, plan, config.spark, task_slots=2)
    sizes = []
    with conn.cursor() as cur:
        for predicate in partitioning.predicates:  # the very SQL Spark sends, per partition
            cur.execute(f"SELECT COUNT(*) FROM {reader.read_query(plan, partitioning)} WHERE {predicate}")
            sizes.append(cur.fetchone()[0])
    return partitioning, sizes


def test_skewed_unsigned_keys_split_within_twice_the_mean(skewed):
    partitioning, sizes = partition_sizes(skewed, "skewed", 500)
    assert partitioning.strategy == "range" and "index dives" in partitioning.description
    assert sum(sizes) == 4000
    assert max(sizes) <= 2 * (4000 / len(sizes)), sizes


def test_text_keys_split_by_index_ranges(skewed):
    partitioning, sizes = partition_sizes(skewed, "text_keyed", 500)
    assert partitioning.strategy == "range" and sum(sizes) == 2000 and len(sizes) == 4
    assert max(sizes) <= 2 * (2000 / len(sizes)), sizes


def test_huge_unsigned_keys_migrate(stack, skewed, tmp_path):
    run = run_job(stack, ["--database", "scale_db", "--rows-per-partition", "500"], tmp_path)
    assert run.code == 0, run.output[-3000:]
    assert run.table("scale_db.skewed")["items_written"] == 4000
    ids = {int(i["id"]) for i in dynamo_items(stack.dynamodb(), "scale_db_skewed")}
    assert TOP in ids and len(ids) == 4000


def test_many_small_tables_load_concurrently(stack, tmp_path):
    stack.fresh_database(
        "many_db",
        *[
            statement
            for n in range(40)
            for statement in (
                f"CREATE TABLE t{n:03d} (id INT PRIMARY KEY, v VARCHAR(10))",
                f"INSERT INTO t{n:03d} VALUES (1, 'a'), (2, 'b'), ({n + 3}, 'c')",
            )
        ],
    )
    run = run_job(stack, ["--database", "many_db", "--max-concurrent-tables", "6", "--no-verify"], tmp_path)
    assert run.code == 0, run.output[-3000:]
    tables = run.report["tables"]
    assert len(tables) == 40 and all(t["items_written"] == 3 for t in tables)
    # Tables in flight at once, from the order of start and finish events (a count, not a
    # duration): more than one, and never more than --max-concurrent-tables.
    events = sorted(
        [(datetime.datetime.fromisoformat(t["started_at"]), 1) for t in tables]
        + [(datetime.datetime.fromisoformat(t["finished_at"]), -1) for t in tables]
    )
    running, most = 0, 0
    for _, change in events:
        running += change
        most = max(most, running)
    assert 2 <= most <= 6
