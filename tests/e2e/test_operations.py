"""Dry run, verification, and resume after the driver is killed."""

import json
import os
import signal
import subprocess
import time

import pytest

from mapping.items import item_size, write_units
from tests.e2e.stack import (
    REPO,
    canonical,
    dynamo_items,
    present,
    run_job,
    source_rows,
    spark_submit_command,
    state_entry,
)


@pytest.fixture(scope="module")
def ops_db(stack):
    stack.fresh_database(
        "ops_db",
        "CREATE TABLE accounts (id INT PRIMARY KEY, owner VARCHAR(30), balance DECIMAL(9,2))",
        "CREATE TABLE wide (id INT PRIMARY KEY, a VARCHAR(20), d LONGTEXT)",
        "CREATE TABLE nokey (v VARCHAR(10))",
        "INSERT INTO wide (id, a) VALUES (1, 'x')",
        "INSERT INTO nokey VALUES ('a'), ('a')",
        rows={"accounts": [(i, f"owner {i}", f"{i * 1.5:.2f}") for i in range(1, 501)]},
    )
    return "ops_db"


def test_dry_run_writes_the_plan_and_touches_nothing(stack, ops_db, tmp_path):
    before = set(stack.dynamodb().list_tables()["TableNames"])
    run = run_job(
        stack,
        ["--database", ops_db, "--dry-run", "--rows-per-partition", "100", "--set", "spark.task_slots=2"],
        tmp_path,
    )
    assert run.code == 0, run.output[-3000:]
    assert set(stack.dynamodb().list_tables()["TableNames"]) == before
    assert run.report["dry_run"] is True
    accounts = run.table("ops_db.accounts")
    assert accounts["status"] == "planned" and accounts["target"] == "ops_db_accounts"
    assert accounts["key"] == "HASH id [primary key]"
    assert accounts["partitions"].startswith("6 partitions on (id)")  # 500 rows / 100, in waves of 2 task slots
    assert accounts["estimated_rows"] == 500 and accounts["estimated_bytes"] > 0
    wide_notes = " ".join(run.table("ops_db.wide")["notes"])
    assert "rows may exceed 400 KB" in wide_notes
    assert "no primary key" in " ".join(run.table("ops_db.nokey")["notes"])
    assert "est. rows" in run.stdout and "est. bytes" in run.stdout and "ops_db_accounts" in run.stdout
    # Issue 22, defect 6: items sized as the load builds them (the whole table fits the sample).
    for table, synthesized in (("accounts", {}), ("nokey", {"_row_id": "0" * 64})):
        estimate = run.table(f"ops_db.{table}")["estimate"]
        items = [{**present(r), **synthesized} for r in source_rows(stack, ops_db, table)]
        assert estimate["basis"] == f"a sample of {len(items)} rows", estimate
        assert estimate["item_bytes"] == -(-sum(item_size(i) for i in items) // len(items)), estimate
    assert not os.path.exists(os.path.join(str(tmp_path), "mysql2dynamodb-state"))


def test_verify_after_load_and_verify_only_finds_tampering(stack, ops_db, tmp_path):
    run = run_job(stack, ["--database", ops_db, "--tables", "accounts", "--verify"], tmp_path)
    assert run.code == 0, run.output[-3000:]
    verification = run.table("ops_db.accounts")["verification"]
    assert verification["match"] and verification["source_rows"] == verification["dynamodb_items"] == 500
    items = [present(r) for r in source_rows(stack, ops_db, "accounts")]
    assert run.table("ops_db.accounts")["write_units"] == sum(write_units(item_size(i)) for i in items)

    client = stack.dynamodb()
    client.delete_item(TableName="ops_db_accounts", Key={"id": {"S": "7"}})
    client.update_item(
        TableName="ops_db_accounts",
        Key={"id": {"S": "9"}},
        AttributeUpdates={"balance": {"Value": {"S": "0.00"}, "Action": "PUT"}},
    )
    check = run_job(stack, ["--database", ops_db, "--tables", "accounts", "--verify-only"], tmp_path)
    assert check.code == 1
    result = check.table("ops_db.accounts")
    assert result["status"] == "verification failed" and result["items_written"] == 0
    assert (result["verification"]["source_rows"], result["verification"]["dynamodb_items"]) == (500, 499)
    examples = {json.dumps(e["key"]): e["problem"] for e in result["verification"]["examples"]}
    assert examples == {'["7"]': "missing in DynamoDB", '["9"]': "attributes differ"}
    assert client.get_item(TableName="ops_db_accounts", Key={"id": {"S": "7"}}).get("Item") is None  # untouched


def finished_partitions(state: str, database: str, table: str) -> dict:
    return state_entry(state, database, table).get("finished", {})


def kill_when_finished(stack, argv, tmp_path, state, table, partitions: int) -> None:
    """spark-submit the job, and once the state records that many finished partitions of the
    table, SIGKILL the JVM and its Python driver at once (as an out-of-memory kill does)."""
    driver = subprocess.Popen(
        spark_submit_command(argv),
        env=stack.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=str(tmp_path),
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(finished_partitions(state, *table)) < partitions:
        time.sleep(0.2)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait(30)


def test_resume_after_the_driver_is_killed(stack, tmp_path):
    stack.fresh_database(
        "resume_db",
        "CREATE TABLE events (id INT PRIMARY KEY, body VARCHAR(100))",
        rows={"events": [(i, f"event {i}") for i in range(4000)]},
    )
    state = os.path.join(str(tmp_path), "state")
    common = [
        os.path.join(REPO, "jobs", "migrate.py"),
        "--database",
        "resume_db",
        "--mysql-port",
        str(stack.mysql_port),
        "--dynamodb-endpoint",
        stack.endpoint,
        "--state",
        state,
        "--rows-per-partition",
        "250",
        "--set",
        "dynamodb.on_demand_wcu=400",
    ]  # slow enough to interrupt
    report = os.path.join(str(tmp_path), "killed.json")
    with open(report, "w") as handle:  # an earlier run's success at the same path
        json.dump({"exit_code": 0, "tables": [{"source": "resume_db.events", "status": "verified"}]}, handle)
    kill_when_finished(stack, common[1:] + ["--report", report], tmp_path, state, ("resume_db", "events"), 4)
    finished_before = len(finished_partitions(state, "resume_db", "events"))
    assert 4 <= finished_before < 16, "the kill should land mid-table"
    # Unfinished: "loading", or "failed" when the driver's Python side outlived its JVM long
    # enough to record the failure. Either way its finished partitions are trusted, nothing more.
    assert state_entry(state, "resume_db", "events")["status"] in ("loading", "failed")
    with open(report) as handle:  # defect 19.2: the killed run's own report, not the earlier success
        killed = json.load(handle)
    assert killed["status"] == "running" and killed["exit_code"] is None, killed
    assert killed["command"][:2] == ["--database", "resume_db"]

    faster = ["--set", "dynamodb.on_demand_wcu=4000"]  # the kill is done: no need to be slow
    resumed = run_job(stack, common[1:] + ["--resume"] + faster, tmp_path)
    assert resumed.code == 0, resumed.output[-3000:]
    result = resumed.table("resume_db.events")
    assert result["rows_read"] <= 4000 - finished_before * 250 + 250  # finished partitions were skipped
    assert any("resumed:" in note for note in result["notes"])
    expected = [present(r) for r in source_rows(stack, "resume_db", "events")]
    assert canonical(dynamo_items(stack.dynamodb(), "resume_db_events")) == canonical(expected)

    again = run_job(stack, common[1:] + ["--resume"] + faster, tmp_path)  # everything done: nothing to do
    assert again.code == 0 and again.table("resume_db.events")["status"] == "already done"
    for name in ("manifest.json",):
        with open(os.path.join(state, name)) as handle:
            assert stack.password not in handle.read()


def test_provisioned_tables_get_the_configured_capacity(stack, ops_db, tmp_path):
    run = run_job(
        stack,
        [
            "--database",
            ops_db,
            "--tables",
            "nokey",
            "--billing-mode",
            "PROVISIONED",
            "--set",
            "naming.prefix=prov_",
            "--set",
            "dynamodb.write_capacity=50",
            "--set",
            "dynamodb.read_capacity=7",
        ],
        tmp_path,
    )
    assert run.code == 0, run.output[-3000:]
    table = stack.dynamodb().describe_table(TableName="prov_ops_db_nokey")["Table"]
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 50
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
    assert run.table("ops_db.nokey")["items_written"] == 2


def test_a_resume_at_another_rate_redoes_a_table_its_first_run_spread(stack, tmp_path):
    """Issue 19, defect 4: at --target-wcu 20000 a 5-tenant table is capped by its HASH values and
    its items are spread across write partitions; a --resume at the default rate sees no cap and
    would skip read ranges whose rows other partitions had written. What the writing run decided
    is saved: the resume redoes the table whole and says why."""
    stack.fresh_database(
        "spread_db",
        "CREATE TABLE tenants (tenant INT NOT NULL, id INT NOT NULL, body VARCHAR(40), PRIMARY KEY (tenant, id))",
        rows={"tenants": [(i % 5, i, f"row {i}") for i in range(2000)]},
    )
    state = os.path.join(str(tmp_path), "state")
    common = ["--database", "spread_db", "--mysql-port", str(stack.mysql_port), "--dynamodb-endpoint"]
    common += [stack.endpoint, "--state", state, "--rows-per-partition", "250", "--no-verify"]
    first = common + ["--target-wcu", "20000", "--set", "dynamodb.on_demand_wcu=400"]
    kill_when_finished(stack, first, tmp_path, state, ("spread_db", "tenants"), 3)
    finished = len(finished_partitions(state, "spread_db", "tenants"))
    assert 3 <= finished < 8, "the kill should land mid-table"
    assert state_entry(state, "spread_db", "tenants")["partitions_trusted"] is False

    resumed = run_job(stack, common + ["--resume"], tmp_path)
    assert resumed.code == 0, resumed.output[-3000:]
    result = resumed.table("spread_db.tenants")
    assert result["rows_read"] == 2000 and any("regrouped across its read partitions" in n for n in result["notes"])
    expected = [present(r) for r in source_rows(stack, "spread_db", "tenants")]
    items = [
        {k: v for k, v in i.items() if k != "_sort_key"} for i in dynamo_items(stack.dynamodb(), "spread_db_tenants")
    ]
    assert canonical(items) == canonical(expected)
