"""A target made equal again (issue 18: a reload ends equal; issue 19: --repair): items whose
rows are gone are deleted, rows missing or different are put, and a repair of an equal table
writes nothing. Each ends with --verify-only and the oracle equal to the source."""

from tests.e2e.stack import run_job, state_entry
from tests.e2e.test_catchup_trust import assert_equal, drop_targets, execute

SHAPES = {
    "keyed": "CREATE TABLE keyed (id INT PRIMARY KEY, v VARCHAR(20))",
    "pair": "CREATE TABLE pair (a INT, b VARCHAR(10), v VARCHAR(20), PRIMARY KEY (a, b))",
    "bare": "CREATE TABLE bare (n INT, v VARCHAR(20))",
}
ROWS = {
    "keyed": [(i, f"k{i}") for i in range(40)],
    "pair": [(i % 4, f"b{i}", f"p{i}") for i in range(40)],
    "bare": [(i % 7, f"same{i % 3}") for i in range(40)],  # duplicates: one item per copy
}


def dynamo_key(table, item):
    return {name: item[name] for name in {"keyed": ["id"], "pair": ["a", "b"], "bare": ["_row_id"]}[table]}


SURVIVES = {  # rows the test keeps at the source (the others it deletes)
    "keyed": lambda item: int(item["id"]["S"]) < 30,
    "pair": lambda item: item["a"]["S"] != "3",
    "bare": lambda item: item["n"]["S"] != "6",
}


def edit_behind_the_jobs_back(stack, database):
    """Per table: one item deleted, one edited, one added that no row has (all of kept rows)."""
    client = stack.dynamodb()
    for table in SHAPES:
        target = f"{database}_{table}"
        items = [i for i in client.scan(TableName=target)["Items"] if SURVIVES[table](i)]
        client.delete_item(TableName=target, Key=dynamo_key(table, items[0]))
        client.put_item(TableName=target, Item={**items[1], "v": {"N": "42"}})  # and not a string: the job writes none
        stray = {**items[2], "v": {"S": "stray"}}
        for name, value in dynamo_key(table, items[2]).items():
            stray[name] = {"S": value["S"] + "-stray"}
        client.put_item(TableName=target, Item=stray)


def test_repair_makes_a_target_edited_behind_the_jobs_back_equal(stack, tmp_path):
    drop_targets(stack, *[f"rep_{t}" for t in SHAPES])
    stack.fresh_database("rep", *SHAPES.values(), rows=ROWS)
    assert run_job(stack, ["--database", "rep"], tmp_path).code == 0
    edit_behind_the_jobs_back(stack, "rep")
    execute(
        stack, "rep", "DELETE FROM keyed WHERE id >= 30", "DELETE FROM pair WHERE a = 3", "DELETE FROM bare WHERE n = 6"
    )

    found = run_job(stack, ["--database", "rep", "--verify-only"], tmp_path)
    assert found.code == 1 and all(found.table(f"rep.{t}")["status"] == "verification failed" for t in SHAPES)

    repaired = run_job(stack, ["--database", "rep", "--verify-only", "--repair"], tmp_path)
    assert repaired.code == 0, repaired.output[-3000:]
    expected = {  # put: the deleted and the edited item; deleted: the stray one and the rows gone
        "keyed": {"put": 2, "deleted": 1 + 10},
        "pair": {"put": 2, "deleted": 1 + 10},
        "bare": {"put": 2, "deleted": 1 + 5},
    }
    for table, counts in expected.items():
        result = repaired.table(f"rep.{table}")
        assert result["status"] == "verified", result
        assert {k: result["repaired"][k] for k in ("put", "deleted")} == counts, (table, result["repaired"])
        assert_equal(stack, "rep", table, f"rep_{table}")

    again = run_job(stack, ["--database", "rep", "--verify-only", "--repair"], tmp_path)
    assert again.code == 0 and all(again.table(f"rep.{t}")["repaired"] is None for t in SHAPES)


def test_a_reload_with_repair_removes_items_of_rows_gone_between_runs(stack, tmp_path):
    """Rows deleted at the source after a load: a plain rerun fails verification (the items
    stay), a rerun with --repair ends equal."""
    drop_targets(stack, "gone_keyed")
    stack.fresh_database("gone", SHAPES["keyed"], rows={"keyed": ROWS["keyed"]})
    assert run_job(stack, ["--database", "gone", "--no-verify"], tmp_path).code == 0
    execute(stack, "gone", "DELETE FROM keyed WHERE id % 4 = 0")
    plain = run_job(stack, ["--database", "gone"], tmp_path)
    assert plain.code == 1 and plain.table("gone.keyed")["verification"]["dynamodb_items"] == 40
    repaired = run_job(stack, ["--database", "gone", "--repair"], tmp_path)
    assert repaired.code == 0, repaired.output[-3000:]
    assert repaired.table("gone.keyed")["repaired"]["deleted"] == 10
    assert_equal(stack, "gone", "keyed", "gone_keyed")


def test_the_reload_of_a_table_catch_up_set_aside_ends_equal(stack, tmp_path):
    """Issue 18: TRUNCATE and ALTER IGNORE ... ADD UNIQUE delete rows the binlog does not
    list; the reload the README names (--tables, nothing more) deletes their items too."""
    drop_targets(stack, "setaside_tr", "setaside_ig", "setaside_t")
    stack.fresh_database(
        "setaside",
        *[f"CREATE TABLE {n} (id INT PRIMARY KEY, v VARCHAR(10))" for n in ("tr", "ig", "t")],
        rows={n: [(i, f"v{i % 3}") for i in range(12)] for n in ("tr", "ig", "t")},
    )
    assert run_job(stack, ["--database", "setaside", "--no-verify"], tmp_path).code == 0
    execute(
        stack,
        "setaside",
        "TRUNCATE tr",
        "INSERT INTO tr VALUES (100, 'new')",
        "ALTER IGNORE TABLE ig ADD UNIQUE (v)",  # the server keeps one row per v
        "UPDATE t SET v = 'after' WHERE id = 1",
    )
    stopped = run_job(stack, ["--database", "setaside", "--catch-up"], tmp_path)
    assert stopped.code == 1, stopped.output[-3000:]
    assert [stopped.table(f"setaside.{n}")["status"] for n in ("tr", "ig", "t")] == [
        "needs reload",
        "needs reload",
        "caught up",
    ]

    reload = run_job(stack, ["--database", "setaside", "--tables", "tr", "--tables", "ig", "--no-verify"], tmp_path)
    assert reload.code == 0, reload.output[-3000:]
    assert reload.table("setaside.tr")["repaired"]["deleted"] == 12
    assert reload.table("setaside.ig")["repaired"]["deleted"] == 9
    state = str(tmp_path / "mysql2dynamodb-state")
    assert "repair_owed" not in state_entry(state, "setaside", "tr")

    execute(stack, "setaside", "UPDATE tr SET v = 'later'", "UPDATE t SET v = 'later' WHERE id = 2")
    final = run_job(stack, ["--database", "setaside", "--catch-up"], tmp_path)
    assert final.code == 0, final.output[-3000:]
    for table in ("tr", "ig", "t"):
        assert_equal(stack, "setaside", table, f"setaside_{table}")
    assert run_job(stack, ["--database", "setaside", "--verify-only"], tmp_path).code == 0
