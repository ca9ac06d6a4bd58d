"""A modelled table's plan and items as pure rules: keys from templates, numbers typed both ways,
the source table named in its items, keys read back into their rows' columns, and the plan's
refusals (one line each, before anything is created)."""

import copy

import pytest

from jobs.config import Config, merge
from jobs.errors import ConfigError
from jobs.planner import build_plan
from mapping.items import NOT_A_STRING, build_item, from_wire, item_digest, key_of, to_wire
from mapping.keys import item_key_of, key_column_values
from mapping.schema import Column, SourceTable
from tests.unit.test_model import SAKILA


def sakila_table(name, columns, pk):
    cols = tuple(
        Column(c, "decimal" if c == "amount" else "int" if c.endswith("_id") else "varchar", "x", c == "email", i + 1)
        for i, c in enumerate(columns)
    )
    return SourceTable("sakila", name, cols, pk)


TABLES = [
    sakila_table(
        "customer", ("customer_id", "store_id", "first_name", "last_name", "email", "last_update"), ("customer_id",)
    ),
    sakila_table("rental", ("rental_id", "rental_date", "inventory_id", "customer_id", "return_date"), ("rental_id",)),
    sakila_table(
        "payment", ("payment_id", "customer_id", "staff_id", "rental_id", "amount", "last_update"), ("payment_id",)
    ),
    sakila_table("film", ("film_id", "title"), ("film_id",)),
]


def plan_of(model=SAKILA, **settings):
    return build_plan(TABLES, merge(Config(), dict(settings, model=model), "test"))


def by_table(plan):
    return {t.source.name: t for t in plan.tables}


def test_the_sakila_model_puts_three_tables_into_one_target_and_leaves_the_rest_as_they_are():
    plans = by_table(plan_of(naming={"prefix": "p_"}))
    assert {n: p.target for n, p in plans.items()} == {
        "customer": "p_sakila_customers",
        "rental": "p_sakila_customers",
        "payment": "p_sakila_customers",
        "film": "p_sakila_film",
    }
    rental = plans["rental"]
    assert (
        rental.key.describe()
        == "HASH pk = 'CUSTOMER#{customer_id}', RANGE sk = 'RENTAL#{rental_id:010}' [model templates]"
    )
    assert "index gsi1: HASH gsi1pk = 'INVENTORY#{inventory_id}', RANGE gsi1sk = '{rental_date}'" in rental.notes
    assert "index gsi1: HASH gsi1pk = (not set: its items are not in the index)" in " ".join(plans["customer"].notes)
    assert [c.name for c in plans["payment"].columns] == [
        "payment_id",
        "customer_id",
        "staff_id",
        "rental_id",
        "amount",
    ]
    assert plans["film"].model is None and plans["film"].key.hash_attribute == "film_id"


def test_a_modelled_row_becomes_its_item_with_keys_numbers_and_its_source():
    plans = by_table(plan_of())
    rental = plans["rental"]
    layout = rental.layout("absent")
    row = rental.layout_row(["12", "2005-05-25 11:30:37", "7", "3#4", None])
    item, _, reason = build_item(row, layout)
    assert reason is None
    assert item == {
        "rental_id": "12",
        "rental_date": "2005-05-25 11:30:37",
        "inventory_id": "7",
        "customer_id": "3#4",
        "pk": "CUSTOMER#3\\#4",
        "sk": "RENTAL#0000000012",
        "gsi1pk": "INVENTORY#7",
        "gsi1sk": "2005-05-25 11:30:37",
        "_table": "sakila.rental",
    }
    payment = plans["payment"].layout("absent")
    item, _, reason = build_item(["4", "3", "1", None, "12.50"], payment)
    assert reason is None and item["amount"] == "12.5"
    wire = to_wire(item, payment.numbers)
    assert wire["amount"] == {"N": "12.5"} and wire["pk"] == {"S": "CUSTOMER#3"}
    assert from_wire(wire, payment.numbers) == item
    as_text = dict(wire, amount={"S": "12.5"})  # a number stored as text is a difference
    assert from_wire(as_text, payment.numbers)["amount"].startswith(NOT_A_STRING)
    assert item_digest(from_wire(as_text, payment.numbers)) != item_digest(item)
    assert from_wire(dict(wire, amount={"N": "12.500"}), payment.numbers) == item  # DynamoDB's own form


@pytest.mark.parametrize(
    "row, why",
    [
        (["-4", "3", "1", None, "1.00"], "RANGE key attribute 'sk': key template 'PAYMENT#{payment_id:010}'"),
        (["4", "3", "1", None, "1" * 39], "number column 'amount': '" + "1" * 39 + "' has 39 significant digits"),
    ],
)
def test_rows_a_model_cannot_key_or_hold_are_rejects_naming_why(row, why):
    _, _, reason = build_item(row, by_table(plan_of())["payment"].layout("absent"))
    assert reason.startswith(why), reason


def test_an_index_attribute_of_a_null_is_left_out_a_sparse_index():
    model = copy.deepcopy(SAKILA)
    model["sakila_customers"]["from"]["sakila.rental"]["gsi1sk"] = "{return_date}"
    rental = by_table(plan_of(model))["rental"]
    item, _, reason = build_item(["1", "2005-05-25", "7", "3", None], rental.layout("absent"))
    assert reason is None and "gsi1sk" not in item and item["gsi1pk"] == "INVENTORY#7"


def test_each_source_claims_its_own_items_and_the_first_also_strangers():
    plans = by_table(plan_of())
    customer, rental = plans["customer"].layout("absent"), plans["rental"].layout("absent")
    for table, mine in (("sakila.customer", (True, False)), ("sakila.rental", (False, True)), ("x.y", (True, False))):
        assert (customer.claims({"_table": table}), rental.claims({"_table": table})) == mine
    assert customer.claims({}) and not rental.claims({})


def test_an_item_key_reads_back_into_its_rows_key_and_template_columns():
    rental = by_table(plan_of())["rental"]
    key = rental.key
    assert key.source_columns == ("customer_id", "rental_id") and key.lookup_columns == ("rental_id",)
    item, _, _ = build_item(["12", "2005-05-25", "7", "3#4", None], rental.layout("absent"))
    item_key = key_of(item, rental.layout("absent"))
    assert key_column_values(item_key, key) == ("3#4", "12")
    assert item_key_of(("3#4", "12"), key) == item_key
    assert key_column_values(("CUSTOMER#3", "PAYMENT#0000000001"), key) is None  # another source's key


@pytest.mark.parametrize(
    "change, words",
    [
        (
            lambda m: m["from"]["sakila.rental"].update(sk="RENTAL#{rental_date}"),
            "must use the table's key column(s) rental_id",
        ),
        (lambda m: m["from"]["sakila.rental"].update(sk="R{customer_id}{rental_id}"), "cannot be read back"),
        (
            lambda m: m["from"]["sakila.payment"].update(pk="CUSTOMER#{customer_id}", sk="RENTAL#{payment_id}"),
            "can make the same key",
        ),
    ],
)
def test_models_the_run_cannot_keep_exact_are_refused_in_one_line(change, words):
    model = copy.deepcopy(SAKILA)
    change(model["sakila_customers"])
    with pytest.raises(ConfigError) as refused:
        plan_of(model)
    assert words in str(refused.value) and "\n" not in str(refused.value)


def test_a_modelled_table_takes_no_rename_key_or_target_and_its_target_no_other_table():
    with pytest.raises(ConfigError, match="do not apply to a table of the model"):
        plan_of(tables={"sakila.rental": {"rename": {"rental_date": "at"}}})
    with pytest.raises(ConfigError, match="a table of the model"):
        plan_of(tables={"sakila.film": {"target": "sakila_customers"}})


def test_a_run_selecting_some_sources_plans_those_and_their_items_still_know_the_others():
    plans = by_table(plan_of(source={"tables": ["rental", "film"]}))
    assert sorted(plans) == ["film", "rental"]
    rental = plans["rental"].layout("absent")
    assert not rental.claims({"_table": "sakila.customer"})  # the customer's, though not selected
    with pytest.raises(ConfigError, match=r"model.sakila_customers.from.sakila.nothing: no such table in the source"):
        model = copy.deepcopy(SAKILA)
        model["sakila_customers"]["from"]["sakila.nothing"] = {"pk": "N#{id}", "sk": "X"}
        plan_of(model)


def test_a_literal_hash_template_is_one_hot_value_counted_without_reading_the_source():
    from jobs.mysql.splits import count_hash_values

    model = copy.deepcopy(SAKILA)
    model["sakila_customers"]["from"]["sakila.customer"] = {"pk": "CUSTOMERS", "sk": "C#{customer_id}"}
    customer = by_table(plan_of(model))["customer"]
    assert count_hash_values(None, customer, 100) == 1  # no connection needed: one value, a hot partition
