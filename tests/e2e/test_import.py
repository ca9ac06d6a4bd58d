"""Import mode end to end: stage DynamoDB JSON on S3, ImportTable, verify (moto's S3 and DynamoDB).

dynalite has no ImportTable, so every table of these runs lives in moto's server; the source,
the oracle and spark-submit are the same real parts as in write mode.
"""

import gzip
import json
import os
import signal
import sys

import boto3
import pytest

from local import demo_data, sakila
from tests.e2e import fidelity_db
from tests.e2e.stack import (
    REPO,
    TABLE_WAIT,
    canonical,
    dynamo_items,
    free_port,
    present,
    run_job,
    source_rows,
    start_server,
    throttle_proxy,
    without,
)
from tests.e2e.test_demo_migration import KEYS as DEMO_KEYS
from tests.e2e.test_model import assert_modelled_equal, model_of

STAGING = "s3://m2d/staging"


class Moto:
    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        credentials = {
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
        }
        self.s3 = boto3.client("s3", **credentials)
        self.dynamodb = boto3.client("dynamodb", **credentials)

    def run(self, stack, args, tmp_path, dynamodb=None, **kwargs):
        """The job with every S3 call going to moto, and every DynamoDB call to moto or to
        dynamodb, a proxy in front of it (the last --dynamodb-endpoint wins)."""
        env = dict(kwargs.pop("env", {}), AWS_ENDPOINT_URL_S3=self.endpoint)
        return run_job(stack, args + ["--dynamodb-endpoint", dynamodb or self.endpoint], tmp_path, env=env, **kwargs)

    def staged_lines(self, prefix: str):
        """{object key: [parsed lines]} under prefix."""
        found = {}
        for entry in self.s3.list_objects_v2(Bucket="m2d", Prefix=prefix).get("Contents", []):
            body = gzip.decompress(self.s3.get_object(Bucket="m2d", Key=entry["Key"])["Body"].read())
            found[entry["Key"]] = [json.loads(line) for line in body.decode("utf-8").splitlines()]
        return found


@pytest.fixture(scope="module")
def moto(stack):
    port = free_port()
    server = start_server(
        [sys.executable, os.path.join(REPO, "local", "moto_server.py"), "-H", "127.0.0.1", "-p", str(port)], port
    )
    running = Moto(f"http://127.0.0.1:{port}")
    running.s3.create_bucket(Bucket="m2d")
    yield running
    server.send_signal(signal.SIGINT)  # moto stops on SIGINT, not SIGTERM
    server.wait(10)


@pytest.fixture(scope="module")
def demo_import(stack, moto, tmp_path_factory):
    counts = demo_data.create(stack.connect(), "demo_imp", scale=1)
    tmp = tmp_path_factory.mktemp("demo_import")
    run = moto.run(
        stack,
        ["--database", "demo_imp", "--rows-per-partition", "400", "--load-mode", "import", "--staging", STAGING],
        tmp,
    )
    return counts, run


def test_demo_is_imported_and_verified(demo_import):
    counts, run = demo_import
    assert run.code == 0, run.output[-3000:]
    for table, rows in counts.items():
        result = run.table(f"demo_imp.{table}")
        assert (result["status"], result["load_mode"], result["table_action"]) == ("completed", "import", "imported")
        assert result["rows_read"] == result["items_staged"] == result["items_written"] == rows, table
        assert result["imported"]["ImportStatus"] == "COMPLETED" and result["imported"]["ErrorCount"] == 0
        assert result["imported"]["ImportedItemCount"] == rows
        assert result["verification"]["match"] and result["verification"]["dynamodb_items"] == rows, table


@pytest.mark.parametrize("table", sorted(DEMO_KEYS))
def test_imported_items_equal_the_source_rows(stack, moto, demo_import, table):
    _, synthesized = DEMO_KEYS[table]
    expected = [present(r) for r in source_rows(stack, "demo_imp", table)]
    items = dynamo_items(moto.dynamodb, f"demo_imp_{table}")
    assert canonical(without(i, *synthesized) for i in items) == canonical(expected)


def test_staged_objects_are_gzip_dynamodb_json_not_in_key_order(moto, demo_import):
    counts, run = demo_import
    staged = moto.staged_lines("staging/demo_imp/orders/")
    assert staged and all(key.endswith(".json.gz") and "/part-" in key for key in staged)
    assert sum(len(lines) for lines in staged.values()) == counts["orders"]
    for lines in staged.values():
        assert all(
            set(line) == {"Item"} and all(set(v) <= {"S", "NULL"} for v in line["Item"].values()) for line in lines
        )
    ids = [int(line["Item"]["id"]["S"]) for lines in staged.values() for line in lines]
    biggest = max(staged.values(), key=len)
    in_object = [int(line["Item"]["id"]["S"]) for line in biggest]
    assert len(set(ids)) == len(ids) == counts["orders"]
    staged_bytes = sum(
        len(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8")) + 1
        for lines in staged.values()
        for line in lines
    )
    assert run.table("demo_imp.orders")["bytes_staged"] == staged_bytes  # what ImportTable bills
    assert in_object != sorted(in_object)  # shuffled: sorted keys would import into one partition at a time


def test_fidelity_database_by_import_equals_the_oracle_and_rejects_as_write_mode(stack, moto, tmp_path):
    fidelity_db.create(stack.connect())
    database = fidelity_db.DATABASE
    run = moto.run(stack, ["--database", database, "--load-mode", "import", "--staging", STAGING], tmp_path)
    assert run.code == 3, run.output[-3000:]
    assert all(
        t["load_mode"] == "import" and t["status"].startswith("completed") and t["verification"]["match"]
        for t in run.report["tables"]
    ), [(t["table"], t["status"], t["error"]) for t in run.report["tables"]]
    for table, synthesized in (
        ("types", ()),
        ("select", ()),
        ("stock", ("_sort_key",)),
        ("events", ("_row_id",)),
        ("users_u", ()),
    ):
        expected = [present(r) for r in source_rows(stack, database, table)]
        items = dynamo_items(moto.dynamodb, run.table(f"{database}.{table}")["target"])
        assert canonical(without(i, *synthesized) for i in items) == canonical(expected), table
    found = fidelity_db.rejected_rows(os.path.join(str(tmp_path), "rejects"), database)
    assert set(found) == set(fidelity_db.EXPECTED_REJECTS)
    for key, fragment in fidelity_db.EXPECTED_REJECTS.items():
        assert fragment in found[key]
    assert sum(t["rejected"] for t in run.report["tables"]) == 4
    empty = run.table(f"{database}.empty_one")
    assert (empty["items_written"], empty["table_action"]) == (0, "created (empty)")


def test_auto_imports_new_tables_and_writes_existing_and_small_ones(stack, moto, tmp_path):
    rows = [(i, f"name {i}") for i in range(1, 301)]
    stack.fresh_database(
        "auto_db",
        "CREATE TABLE big (id INT PRIMARY KEY, name VARCHAR(40))",
        "CREATE TABLE tiny (id INT PRIMARY KEY, name VARCHAR(40))",
        "CREATE TABLE kept (id INT PRIMARY KEY, name VARCHAR(40))",
        rows={"big": rows, "tiny": rows[:5], "kept": rows},
    )
    moto.dynamodb.create_table(
        TableName="auto_db_kept",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    args = [
        "--database",
        "auto_db",
        "--load-mode",
        "auto",
        "--staging",
        STAGING,
        "--set",
        "dynamodb.import_min_rows=100",
        "--state",
        str(tmp_path / "state"),
    ]
    planned = moto.run(stack, args + ["--dry-run"], tmp_path)
    assert planned.code == 0, planned.output[-3000:]
    modes = {t["table"]: (t["load_mode"], t["load_mode_reason"]) for t in planned.report["tables"]}
    assert modes["big"][0] == "import" and "costs at most 1/2 of writes" in modes["big"][1]
    assert modes["tiny"] == ("write", "5 estimated rows, under dynamodb.import_min_rows (100)")
    assert modes["kept"] == ("write", "the DynamoDB table exists and ImportTable only creates tables")
    assert planned.table("auto_db.big")["estimate"]["write_units"] == 300
    assert "estimate: $" in planned.stdout and "prices of 2024-11-01 us-east-1" in planned.stdout

    run = moto.run(stack, args, tmp_path)
    assert run.code == 0, run.output[-3000:]
    assert {t["table"]: (t["load_mode"], t["status"]) for t in run.report["tables"]} == {
        "big": ("import", "completed"),
        "tiny": ("write", "completed"),
        "kept": ("write", "completed"),
    }
    for table, count in (("big", 300), ("tiny", 5), ("kept", 300)):
        assert len(dynamo_items(moto.dynamodb, f"auto_db_{table}")) == count

    resumed = moto.run(stack, args + ["--resume"], tmp_path)
    assert resumed.code == 0, resumed.output[-3000:]
    big = resumed.table("auto_db.big")  # the state is tied to the table the import created
    assert (big["load_mode"], big["status"], big["verification"]["match"]) == ("write", "already done", True)

    import_args = [
        "--database",
        "auto_db",
        "--tables",
        "big",
        "--load-mode",
        "import",
        "--staging",
        STAGING,
        "--state",
        str(tmp_path / "state"),
        "--resume",
    ]
    again = moto.run(stack, import_args, tmp_path)  # import mode, resumed: the imported table is done
    assert again.code == 0, again.output[-3000:]
    assert (again.table("auto_db.big")["status"], again.table("auto_db.big")["verification"]["match"]) == (
        "already done",
        True,
    )
    moto.dynamodb.delete_table(TableName="auto_db_big")  # gone since: staged and imported again
    restaged = moto.run(stack, import_args, tmp_path)
    assert restaged.code == 0, restaged.output[-3000:]
    big = restaged.table("auto_db.big")
    assert (big["status"], big["table_action"], big["items_written"]) == ("completed", "imported", 300)
    assert any("not the table an earlier run wrote" in note for note in big["notes"])

    refused = moto.run(
        stack, ["--database", "auto_db", "--tables", "big", "--load-mode", "import", "--staging", STAGING], tmp_path
    )
    assert refused.code == 1
    assert (
        "DynamoDB table auto_db_big exists and ImportTable only creates tables" in refused.table("auto_db.big")["error"]
    )


@pytest.mark.parametrize("mode", ["import", "write"])
def test_rows_whose_keys_print_alike_are_counted_as_merged_in_both_modes(stack, moto, tmp_path, mode):
    """Issue 22, defect 2: greek X'41AE', X'41D2' and 'A?' all print 'A?': three rows, one item.
    The plan flags the character set, the rows meet by key, and --no-verify still exits 1."""
    database = f"greek_{mode}"
    stack.fresh_database(
        database,
        "CREATE TABLE g (k VARCHAR(10) CHARACTER SET greek NOT NULL PRIMARY KEY, v INT)",
        "INSERT INTO g VALUES (X'41AE', 1), (X'41D2', 2), ('A?', 3), ('B', 4)",
    )
    args = ["--database", database, "--load-mode", mode, "--staging", STAGING, "--no-verify"]
    run = moto.run(stack, args, tmp_path)
    assert run.code == 1, run.output[-3000:]
    result = run.table(f"{database}.g")
    assert result["merged_rows"] == 2 and result["status"] == "failed", result
    assert "character set greek" in result["error"]


def test_objects_under_a_tables_staging_prefix_that_are_not_the_jobs_stop_that_table(stack, moto, tmp_path):
    """Issue 22, defect 5: ImportTable imports everything under the prefix; a leftover backup
    and a nested object would become items."""
    stack.fresh_database("foreign_db", "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1), (2)")
    for key in ("staging/foreign_db/t/part-00000.json.gz.bak", "staging/foreign_db/t/part-old/x.json.gz"):
        moto.s3.put_object(Bucket="m2d", Key=key, Body=b"not ours")
    run = moto.run(stack, ["--database", "foreign_db", "--load-mode", "import", "--staging", STAGING], tmp_path)
    assert run.code == 1, run.output[-3000:]
    error = run.table("foreign_db.t")["error"]
    assert "holds objects this job did not write (part-00000.json.gz.bak, part-old/x.json.gz)" in error, error
    assert "foreign_db_t" not in moto.dynamodb.list_tables()["TableNames"]


def test_a_users_object_named_like_a_part_file_is_never_deleted(stack, moto, tmp_path):
    """Issue 29, defect 4: the job's own objects are the ones it recorded (names and ETags), not
    any part-*.json.gz: a user's object stops the table and stays; a rerun of the job's own
    staging replaces its objects as before."""
    stack.fresh_database("own_db", "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1), (2)")
    key = "staging/own_db/t/part-00077.json.gz"
    moto.s3.put_object(Bucket="m2d", Key=key, Body=b"not gzip, not the job's")
    run = moto.run(stack, ["--database", "own_db", "--load-mode", "import", "--staging", STAGING], tmp_path)
    assert run.code == 1, run.output[-3000:]
    assert "holds objects this job did not write (part-00077.json.gz)" in run.table("own_db.t")["error"]
    assert moto.s3.get_object(Bucket="m2d", Key=key)["Body"].read() == b"not gzip, not the job's"
    moto.s3.delete_object(Bucket="m2d", Key=key)
    staged_by_the_job = ["--database", "own_db", "--load-mode", "import", "--staging", STAGING, "--no-verify"]
    first = moto.run(stack, staged_by_the_job, tmp_path)
    assert first.code == 0, first.output[-3000:]
    moto.dynamodb.delete_table(TableName="own_db_t")
    moto.dynamodb.get_waiter("table_not_exists").wait(TableName="own_db_t", WaiterConfig=TABLE_WAIT)
    again = moto.run(stack, staged_by_the_job, tmp_path)  # its own earlier objects are cleared, by ETag
    assert again.code == 0, again.output[-3000:]


def test_a_missing_bucket_fails_the_table_in_one_line_and_the_report_keeps_it(stack, moto, tmp_path):
    """Issue 22, defect 4: it was a traceback, a KeyError in the state and a report with no tables."""
    stack.fresh_database("nobucket_db", "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
    args = ["--database", "nobucket_db", "--load-mode", "import", "--staging", "s3://nosuchbucket/x"]
    run = moto.run(stack, args, tmp_path)
    assert run.code == 1, run.output[-3000:]
    result = run.table("nobucket_db.t")
    assert result["status"] == "failed" and "NoSuchBucket" in result["error"], result
    assert "Traceback" not in run.output


def test_an_import_outlives_the_wait_and_is_taken_up_only_by_its_own_table(stack, moto, tmp_path):
    """Issue 22, defects 3 and 1. The proxy keeps each import IN_PROGRESS for its first 3
    descriptions, as a large table's import stays for minutes: the wait ends, and the state
    must still say which import is running (it was overwritten to `failed`). A plain rerun
    refuses without forgetting it; a --resume under another prefix, whose name the import's
    contains, must not take it up (a substring test on the ARN did); --resume takes it up."""
    rows = [(i, f"row {i}") for i in range(1, 201)]
    stack.fresh_database("strand_db", "CREATE TABLE big1 (id INT PRIMARY KEY, v VARCHAR(20))", rows={"big1": rows})
    state_path = tmp_path / "state"
    args = ["--database", "strand_db", "--load-mode", "import", "--staging", STAGING, "--state", str(state_path)]
    ours = args + ["--set", "naming.prefix=zz_"]

    def entry():
        (table,) = json.loads((state_path / "manifest.json").read_text())["tables"]
        return table

    with throttle_proxy(stack, "--wcu", "1e9", "--import-describes", "3", upstream=moto.endpoint) as proxy:
        waited = moto.run(stack, ours + ["--set", "dynamodb.import_wait_seconds=1"], tmp_path, dynamodb=proxy)
        assert waited.code == 1, waited.output[-3000:]
        assert "still IN_PROGRESS after 1s" in waited.table("strand_db.big1")["error"]
        arn = entry()["import_arn"]
        assert entry()["status"] == "importing" and "/zz_strand_db_big1/import/" in arn, entry()

        moto.dynamodb.create_table(
            TableName="z_strand_db_big1",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )
        moto.dynamodb.put_item(TableName="z_strand_db_big1", Item={"id": {"S": "stale"}})
        other = moto.run(
            stack, args + ["--set", "naming.prefix=z_", "--resume", "--no-verify"], tmp_path, dynamodb=proxy
        )
        assert other.code == 1, other.output[-3000:]
        assert "exists and ImportTable only creates tables" in other.table("strand_db.big1")["error"]
        assert dynamo_items(moto.dynamodb, "z_strand_db_big1") == [{"id": "stale"}]

        plain = moto.run(stack, ours, tmp_path, dynamodb=proxy)
        assert plain.code == 1, plain.output[-3000:]
        assert "resume the run that imported it with --resume" in plain.table("strand_db.big1")["error"]
        assert (entry()["status"], entry()["import_arn"]) == ("importing", arn)

        resumed = moto.run(stack, ours + ["--resume"], tmp_path, dynamodb=proxy)
    assert resumed.code == 0, resumed.output[-3000:]
    result = resumed.table("strand_db.big1")
    assert f"an earlier run's import {arn} is taken up" in result["notes"]
    assert "IN_PROGRESS, 0 item(s) processed" in resumed.output  # it waited for the import
    assert (result["items_written"], result["verification"]["match"]) == (200, True), result
    assert canonical(dynamo_items(moto.dynamodb, "zz_strand_db_big1")) == canonical(
        source_rows(stack, "strand_db", "big1")
    )


def test_sakila_modelled_in_import_mode_is_one_import_of_its_three_sources(stack, moto, tmp_path):
    """Issue 32: the model's three sources staged under the target's prefix and imported by one
    ImportTable with the index; another table imported as today; --verify-only passes."""
    database = "sakila_imp"
    sakila.create(stack.connect(), database, customers=20)
    conf = tmp_path / "model.json"
    conf.write_text(json.dumps({"model": model_of(database)}))
    # the model's three sources and one table of the rest (test_model.py compares all of the rest)
    chosen = ["--tables", "customer", "--tables", "rental", "--tables", "payment", "--tables", "film"]
    args = ["--database", database, "--conf", str(conf), "--load-mode", "import", "--staging", STAGING, *chosen]
    run = moto.run(stack, args, tmp_path)
    assert run.code == 0, run.output[-4000:]
    arns = {run.table(f"{database}.{t}")["imported"]["ImportArn"] for t in ("customer", "rental", "payment")}
    assert len(arns) == 1 and all(t["load_mode"] == "import" for t in run.report["tables"])
    staged = moto.staged_lines("staging/_model/sakila_customers/")
    assert {key.split("/")[4] for key in staged} == {"customer", "rental", "payment"}
    assert_modelled_equal(stack, moto.dynamodb, database, others=("film",))
    table = moto.dynamodb.describe_table(TableName="sakila_customers")["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["gsi1"]
    again = moto.run(stack, ["--database", database, "--conf", str(conf), "--verify-only", *chosen], tmp_path)
    assert again.code == 0, again.output[-4000:]
