"""One comparison engine at a size where buckets matter: 120,000 rows (128 buckets of keys), three
differences planted in DynamoDB, found and named with their keys by --verify-only, by live
verification's whole pass (spread over Spark, as under spark-submit: the run shares the tests'
SparkSession), and fixed by --repair."""

import re

from tests.e2e.stack import run_job

DATABASE = "size_db"
ROWS = 120_000
DIFFERENT_KEY, MISSING_KEY, EXTRA_KEY = "4242", "119999", "300001"


def plant(client) -> None:
    table = f"{DATABASE}_big"
    client.update_item(
        TableName=table,
        Key={"id": {"S": DIFFERENT_KEY}},
        UpdateExpression="SET #n = :v",
        ExpressionAttributeNames={"#n": "note"},
        ExpressionAttributeValues={":v": {"S": "edited behind the job"}},
    )
    client.delete_item(TableName=table, Key={"id": {"S": MISSING_KEY}})
    client.put_item(TableName=table, Item={"id": {"S": EXTRA_KEY}, "note": {"S": "not a row"}})


def named(examples) -> dict:
    return {example["key"][0]: example["problem"] for example in examples}


EXPECTED = {
    DIFFERENT_KEY: "attributes differ",
    MISSING_KEY: "missing in DynamoDB",
    EXTRA_KEY: "not in the source",
}


def test_differences_in_a_big_table_are_named_by_every_comparison_and_repaired(stack, tmp_path):
    stack.fresh_database(
        DATABASE,
        "CREATE TABLE big (id INT PRIMARY KEY, note VARCHAR(20))",
        f"INSERT INTO big SELECT seq, CONCAT('n', seq) FROM seq_1_to_{ROWS}",
        "ANALYZE TABLE big",
    )
    client = stack.dynamodb()
    if f"{DATABASE}_big" in client.list_tables(Limit=100)["TableNames"]:
        client.delete_table(TableName=f"{DATABASE}_big")
    fast = ["--set", "dynamodb.on_demand_wcu=1000000", "--set", "dynamodb.warm_throughput=none"]
    load = run_job(stack, ["--database", DATABASE, "--no-verify", *fast], tmp_path)
    assert load.code == 0, load.output[-3000:]
    plant(client)

    checked = run_job(stack, ["--database", DATABASE, "--verify-only", "--set", "spark.progress_seconds=0.5"], tmp_path)
    assert checked.code == 1, checked.output[-3000:]
    compared_so_far = [
        int(m.group(1)) for m in re.finditer(rf"progress {DATABASE}\.big verification: (\d+)/", checked.output)
    ]
    assert any(rows > 0 for rows in compared_so_far), compared_so_far  # the rows compared, as they move
    verification = checked.table(f"{DATABASE}.big")["verification"]
    assert named(verification["examples"]) == EXPECTED, verification
    assert (verification["source_rows"], verification["dynamodb_items"]) == (ROWS, ROWS)
    assert verification["differing_buckets"] <= 3

    with stack.connect().cursor() as cur:
        cur.execute("SET GLOBAL read_only = ON")  # the fence: one whole pass decides
    try:
        followed = run_job(
            stack,
            ["--database", DATABASE, "--catch-up", "--until-verified", "--max-seconds", "150"]
            + ["--set", "catch_up.verify_rows_per_second=0", "--set", "catch_up.spread_rows=1"],
            tmp_path,
        )
    finally:
        with stack.connect().cursor() as cur:
            cur.execute("SET GLOBAL read_only = OFF")
    assert followed.code == 1, followed.output[-3000:]
    assert f"{DATABASE}.big: a whole pass as Spark jobs" in followed.output
    live = followed.report["catch_up"]["verification"]["tables"][f"{DATABASE}.big"]
    assert live["status"] == "differs" and live["differences"] == 3, live
    assert named(live["examples"]) == EXPECTED, live
    assert not followed.report["catch_up"]["verification"]["cut_over"]["safe"]

    repaired = run_job(stack, ["--database", DATABASE, "--verify-only", "--repair"], tmp_path)
    assert repaired.code == 0, repaired.output[-3000:]
    result = repaired.table(f"{DATABASE}.big")
    assert (result["repaired"]["put"], result["repaired"]["deleted"]) == (2, 1), result
    assert named(result["repaired"]["found"]) == EXPECTED, result  # the keys it repaired, named
    assert result["verification"]["match"], result
