"""The model section as pure rules: the Sakila example, collisions refused in one line, numbers
as DynamoDB keeps them."""

import copy

import pytest

from mapping.model import ModelError, dynamodb_number, parse_model

COLUMNS = {
    "sakila.customer": ["customer_id", "store_id", "first_name", "last_name", "email", "last_update"],
    "sakila.rental": ["rental_id", "rental_date", "inventory_id", "customer_id", "return_date", "last_update"],
    "sakila.payment": ["payment_id", "customer_id", "staff_id", "rental_id", "amount", "payment_date", "last_update"],
}
SAKILA = {
    "sakila_customers": {
        "hash": "pk",
        "range": "sk",
        "from": {
            "sakila.customer": {"pk": "CUSTOMER#{customer_id}", "sk": "PROFILE"},
            "sakila.rental": {
                "pk": "CUSTOMER#{customer_id}",
                "sk": "RENTAL#{rental_id:010}",
                "gsi1pk": "INVENTORY#{inventory_id}",
                "gsi1sk": "{rental_date}",
            },
            "sakila.payment": {
                "pk": "CUSTOMER#{customer_id}",
                "sk": "PAYMENT#{payment_id:010}",
                "numbers": ["amount"],
                "exclude": ["last_update"],
            },
        },
        "indexes": {"gsi1": {"hash": "gsi1pk", "range": "gsi1sk"}},
    }
}


def parse(section):
    return parse_model(section, COLUMNS.get)


def test_the_sakila_example():
    (target,) = parse(SAKILA)
    assert target.key_attributes == ("pk", "sk") and target.table_attribute == "_table"
    assert [s.source for s in target.sources] == ["sakila.customer", "sakila.rental", "sakila.payment"]
    rental = target.sources[1]
    assert [a for a, _ in rental.templates] == ["pk", "sk", "gsi1pk", "gsi1sk"]
    assert target.sources[2].numbers == ("amount",) and target.sources[2].exclude == ("last_update",)
    assert [(i.name, i.hash, i.range) for i in target.indexes] == [("gsi1", "gsi1pk", "gsi1sk")]


def with_source(source, spec):
    section = copy.deepcopy(SAKILA)
    section["sakila_customers"]["from"][source] = spec
    return section


def test_two_sources_whose_keys_can_meet_are_refused_in_one_line():
    section = with_source("sakila.payment", {"pk": "CUSTOMER#{customer_id}", "sk": "RENTAL#{payment_id:010}"})
    with pytest.raises(ModelError) as refused:
        parse(section)
    message = str(refused.value)
    assert message.startswith("model.sakila_customers: sakila.rental and sakila.payment can make the same key")
    assert "sk: 'RENTAL#{rental_id:010}' and 'RENTAL#{payment_id:010}'" in message and "\n" not in message


def test_a_distinct_hash_prefix_is_enough_to_keep_sources_apart():
    section = with_source("sakila.payment", {"pk": "PAYMENT#{customer_id}", "sk": "RENTAL#{payment_id:010}"})
    assert len(parse(section)[0].sources) == 3


@pytest.mark.parametrize(
    "spec, words",
    [
        ({"pk": "C#{customer_id}"}, "no template for the key attribute 'sk'"),
        ({"pk": "C#{nope}", "sk": "P"}, "uses column 'nope'"),
        ({"pk": "C#{customer_id}", "sk": "P", "other": "X"}, "other: not a key attribute"),
        ({"pk": "C#{customer_id}", "sk": "P", "numbers": ["nope"]}, "numbers: nope is not a column"),
        ({"pk": "C#{customer_id}", "sk": "P", "exclude": ["customer_id"]}, "used by a key template"),
        ({"pk": "C#{customer_id}", "sk": "P", "numbers": "amount"}, "expected a list of column names"),
    ],
)
def test_bad_sources_are_refused_naming_where(spec, words):
    with pytest.raises(ModelError) as refused:
        parse(with_source("sakila.payment", spec))
    assert words in str(refused.value) and str(refused.value).startswith("model.sakila_customers.from.sakila.payment")


def test_a_table_not_planned_or_in_two_targets_is_refused():
    with pytest.raises(ModelError, match="sakila.film: no such table"):
        parse(with_source("sakila.film", {"pk": "F", "sk": "F"}))
    twice = copy.deepcopy(SAKILA)
    twice["other"] = {"hash": "pk", "from": {"sakila.customer": {"pk": "X#{customer_id}"}}}
    with pytest.raises(ModelError, match="sakila.customer is a source of both sakila_customers and other"):
        parse(twice)


@pytest.mark.parametrize(
    "text, number",
    [("12.50", "12.5"), ("-0.00", "0"), ("100", "100"), ("0.000100", "0.0001"), ("1e3", "1000"), ("-7", "-7")],
)
def test_numbers_as_dynamodb_gives_them_back(text, number):
    assert dynamodb_number(text) == (number, None)


@pytest.mark.parametrize(
    "text, why",
    [("1" * 39, "39 significant digits"), ("abc", "not a number"), ("NaN", "not a number"), ("1e200", "outside")],
)
def test_numbers_dynamodb_cannot_hold_exactly_are_rejects(text, why):
    number, reason = dynamodb_number(text)
    assert number is None and why in reason
