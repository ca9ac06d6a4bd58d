"""The job on a real standalone cluster: executors are separate processes that build
their own DynamoDB clients from the job's settings."""

import json
import urllib.request

import pytest

from tests.e2e.stack import canonical, dynamo_items, present, run_job, source_rows


@pytest.fixture(scope="module")
def cluster(stack):
    stack.stack_script("start", "spark")
    yield f"spark://127.0.0.1:{stack.spark_port}"
    stack.stack_script("stop", "spark")


def master_state(stack):
    port = int(stack.env["M2D_SPARK_UI_PORT"])
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/", timeout=10) as response:
        return json.load(response)


def test_migration_on_standalone_cluster(stack, cluster, tmp_path):
    stack.fresh_database(
        "cluster_db",
        "CREATE TABLE readings (sensor INT NOT NULL, at DATETIME(3) NOT NULL, value DECIMAL(8,3), "
        "PRIMARY KEY (sensor, at))",
        rows={
            "readings": [
                (
                    i % 17,
                    f"2024-01-01 00:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}",
                    None if i % 9 == 0 else f"{i / 7:.3f}",
                )
                for i in range(3000)
            ]
        },
    )
    before = len(master_state(stack)["completedapps"])
    run = run_job(
        stack,
        ["--database", "cluster_db", "--rows-per-partition", "500"],
        tmp_path,
        master=cluster,
        spark_conf=["spark.executor.memory=1g", "spark.cores.max=2"],
    )
    assert run.code == 0, run.output[-3000:]
    state = master_state(stack)
    assert len(state["completedapps"]) == before + 1  # it really ran on this cluster
    assert len(state["workers"]) == 1
    result = run.table("cluster_db.readings")
    assert result["rows_read"] == result["items_written"] == 3000
    expected = [present(r) for r in source_rows(stack, "cluster_db", "readings")]
    assert canonical(dynamo_items(stack.dynamodb(), "cluster_db_readings")) == canonical(expected)
