"""Modelling for DynamoDB end to end (issue 32): Sakila's customers, rentals and payments in one
table keyed by templates, with an index, typed amounts and a column left out, kept equal to the
source by the load, verification, repair, catch-up and live verification.

The oracle renders the model itself from the source's rows (its own escaping and number form,
nothing shared with the job) and compares whole typed items.
"""

import json
import os
import threading
import time

import pytest

from local import sakila  # local/ is a folder of scripts; pytest's rootdir makes it importable
from tests.e2e.stack import REPO, canonical, present, run_job, source_rows
from tests.e2e.test_catchup_trust import drop_targets, execute
from tests.e2e.test_cut_over import fenced_later

DB = "sakila"
TARGET = "sakila_customers"
with open(os.path.join(REPO, "conf", "examples", "sakila-model.json"), encoding="utf-8") as handle:
    MODEL = json.load(handle)["model"]  # the manual's example, as a user passes it
MODELLED = ("customer", "rental", "payment")


def model_of(database: str) -> dict:
    """The model above with its sources in another database."""
    return json.loads(json.dumps(MODEL).replace('"sakila.', f'"{database}.'))


OTHERS = tuple(name for name, _ in sakila.TABLES if name not in MODELLED)


def escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("#", "\\#")


def number(text: str) -> str:
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    return (whole.lstrip("0") or "0") + ("." + fraction if fraction else "")


def expected_items(stack, database: str = DB) -> list:
    """Every item the model should give, rendered here from the source's rows."""
    items = []
    for table in MODELLED:
        for row in source_rows(stack, database, table):
            if table == "payment":
                row.pop("last_update")
            item = {k: {"N": number(v)} if k == "amount" else {"S": v} for k, v in present(row).items()}
            item["pk"] = {"S": f"CUSTOMER#{escaped(row['customer_id'])}"}
            if table == "customer":
                item["sk"] = {"S": "PROFILE"}
            elif table == "rental":
                item["sk"] = {"S": f"RENTAL#{int(row['rental_id']):010d}"}
                item["gsi1pk"] = {"S": f"INVENTORY#{escaped(row['inventory_id'])}"}
                item["gsi1sk"] = {"S": escaped(row["rental_date"])}
            else:
                item["sk"] = {"S": f"PAYMENT#{int(row['payment_id']):010d}"}
            item["_table"] = {"S": f"{database}.{table}"}
            items.append(item)
    return items


def scanned(client, table: str) -> list:
    items, request = [], {"TableName": table}
    while True:
        page = client.scan(**request)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def assert_modelled_equal(stack, client=None, database: str = DB, prefix: str = "", others=OTHERS) -> None:
    client = client or stack.dynamodb()
    assert canonical(scanned(client, prefix + TARGET)) == canonical(expected_items(stack, database))
    for table in others:  # the rest of Sakila, migrated as without a model
        items = scanned(client, f"{prefix}{database}_{table}")
        plain = [{k: v["S"] for k, v in item.items() if "S" in v} for item in items]
        assert canonical(plain) == canonical(present(r) for r in source_rows(stack, database, table)), table


@pytest.fixture(scope="module")
def loaded(stack, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("model")
    drop_targets(stack, TARGET, *(f"{DB}_{t}" for t in OTHERS))
    counts = sakila.create(stack.connect(), DB, customers=30)
    conf = tmp / "model.json"
    conf.write_text(json.dumps({"model": MODEL}))
    run = run_job(stack, ["--database", DB, "--conf", str(conf)], tmp)
    report = str(tmp / "report.json")  # the load's: catch-ups start from its position
    return tmp, str(conf), report, run, counts


def test_sakila_modelled_in_write_mode_equals_the_templates_rendered_from_the_source(stack, loaded):
    _, _, _, run, counts = loaded
    assert run.code == 0, run.output[-4000:]
    assert (
        "modelled into sakila_customers: HASH pk = 'CUSTOMER#{customer_id}', RANGE sk = 'RENTAL#{rental_id:010}'"
        in (run.output)
    )
    for table in MODELLED:
        entry = run.table(f"{DB}.{table}")
        assert entry["items_written"] == counts[table] and entry["verification"]["match"], entry
    indexes = stack.dynamodb().describe_table(TableName=TARGET)["Table"]["GlobalSecondaryIndexes"]
    assert [(i["IndexName"], [k["AttributeName"] for k in i["KeySchema"]]) for i in indexes] == [
        ("gsi1", ["gsi1pk", "gsi1sk"])
    ]
    assert_modelled_equal(stack)


def test_verification_finds_planted_edits_per_source_and_repair_fixes_them(stack, loaded, tmp_path):
    _, conf, _, _, _ = loaded
    args = ["--database", DB, "--conf", conf, "--tables", "customer", "--tables", "rental", "--tables", "payment"]
    assert run_job(stack, args + ["--verify-only"], tmp_path).code == 0
    client = stack.dynamodb()
    rental = {"pk": {"S": "CUSTOMER#8"}, "sk": {"S": "RENTAL#0000000001"}}
    client.update_item(  # an attribute changed, a number stored as text, an item gone, a stray item
        TableName=TARGET,
        Key=rental,
        UpdateExpression="SET return_date = :v",
        ExpressionAttributeValues={":v": {"S": "2001-01-01 00:00:00"}},
    )
    client.update_item(
        TableName=TARGET,
        Key={"pk": {"S": "CUSTOMER#8"}, "sk": {"S": "PAYMENT#0000000001"}},
        UpdateExpression="SET amount = :v",
        ExpressionAttributeValues={":v": {"S": "0.99"}},
    )
    client.delete_item(TableName=TARGET, Key={"pk": {"S": "CUSTOMER#3"}, "sk": {"S": "PROFILE"}})
    client.put_item(
        TableName=TARGET, Item={"pk": {"S": "CUSTOMER#3"}, "sk": {"S": "RENTAL#0000099999"}, "_table": {"S": "x.y"}}
    )
    found = run_job(stack, args + ["--verify-only"], tmp_path)
    assert found.code != 0
    verified = {t: found.table(f"{DB}.{t}")["verification"] for t in MODELLED}
    assert not any(v["match"] for v in verified.values()), verified
    problems = {json.dumps(e["key"]): e["problem"] for v in verified.values() for e in v["examples"]}
    assert problems['["CUSTOMER#8", "RENTAL#0000000001"]'] == "attributes differ"
    assert problems['["CUSTOMER#8", "PAYMENT#0000000001"]'] == "attributes differ"
    assert problems['["CUSTOMER#3", "PROFILE"]'] == "missing in DynamoDB"
    assert problems['["CUSTOMER#3", "RENTAL#0000099999"]'] == "not in the source"
    repaired = run_job(stack, args + ["--verify-only", "--repair"], tmp_path)
    assert repaired.code == 0, repaired.output[-4000:]
    assert_modelled_equal(stack)


def test_catch_up_moves_items_between_collections_and_ends_equal(stack, loaded, tmp_path):
    _, conf, report, _, _ = loaded
    execute(
        stack,
        DB,
        "UPDATE rental SET customer_id = 2 WHERE rental_id = 3",  # a rental moves to another customer
        "DELETE FROM payment WHERE payment_id = 4",
        "UPDATE customer SET customer_id = 999 WHERE customer_id = 5",  # cascades to rentals and payments
        "UPDATE payment SET amount = 7.50 WHERE payment_id = 6",
        "INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) "
        "VALUES (2, 1, 3, 10.00, '2006-02-14 15:16:03')",
    )
    caught = run_job(stack, ["--database", DB, "--conf", conf, "--catch-up", "--from-report", report], tmp_path)
    assert caught.code == 0, caught.output[-4000:]
    assert_modelled_equal(stack)
    items = scanned(stack.dynamodb(), TARGET)
    assert not [i for i in items if i["pk"]["S"] == "CUSTOMER#5"]  # the old collection is gone
    assert any(i["pk"]["S"] == "CUSTOMER#2" and i["sk"]["S"] == "RENTAL#0000000003" for i in items)


def test_live_verification_under_a_writer_says_safe_after_the_fence(stack, loaded, tmp_path):
    _, conf, report, _, _ = loaded
    with fenced_later(stack) as fence:

        def writer():  # rentals moving between customers while the follower and verification run
            for n in range(4):
                execute(stack, DB, f"UPDATE rental SET customer_id = {1 + n % 7} WHERE rental_id = {20 + n}")
                time.sleep(1)
            fence()

        thread = threading.Thread(target=writer)
        thread.start()
        args = ["--database", DB, "--conf", conf, "--catch-up", "--from-report", report, "--until-verified"]
        run = run_job(stack, args + ["--max-seconds", "90", "--set", "catch_up.verify_rows_per_second=0"], tmp_path)
        thread.join()
    assert run.code == 0, run.output[-4000:]
    assert run.output.index("fence: the source is read-only") < run.output.index("SAFE TO CUT OVER")
    assert_modelled_equal(stack)


def test_templates_that_can_collide_are_refused_before_anything_is_created(stack, loaded, tmp_path):
    conf = tmp_path / "collide.json"
    sources = {"sakila.film": {"pk": "{film_id}"}, "sakila.language": {"pk": "L{language_id}"}}
    model = {"m2d_collide": {"hash": "pk", "from": sources}}
    conf.write_text(json.dumps({"model": model}))
    run = run_job(stack, ["--database", DB, "--conf", str(conf)], tmp_path)
    assert run.code != 0
    lines = [line for line in run.output.splitlines() if "can make the same key" in line]
    assert len(lines) == 1 and "sakila.film and sakila.language" in lines[0], run.output[-2000:]
    assert "m2d_collide" not in stack.dynamodb().list_tables()["TableNames"]


def test_dry_run_shows_each_target_with_its_sources_key_patterns_indexes_and_estimates(stack, loaded, tmp_path):
    _, conf, _, _, _ = loaded
    before = stack.dynamodb().list_tables()["TableNames"]
    run = run_job(stack, ["--database", DB, "--conf", conf, "--dry-run", "--set", "naming.prefix=dry_"], tmp_path)
    assert run.code == 0, run.output[-3000:]
    for line in (
        "sakila.customer: modelled into dry_sakila_customers: HASH pk = 'CUSTOMER#{customer_id}', RANGE sk = 'PROFILE'",
        "sakila.payment: shares dry_sakila_customers with sakila.customer, sakila.rental; its items hold _table",
        "sakila.rental: index gsi1: HASH gsi1pk = 'INVENTORY#{inventory_id}', RANGE gsi1sk = '{rental_date}'",
        "sakila.payment: written as DynamoDB numbers: amount",
    ):
        assert line in run.output, line
    assert all(t["estimate"]["items"] > 0 for t in run.report["tables"] if t["table"] in MODELLED)
    assert stack.dynamodb().list_tables()["TableNames"] == before
