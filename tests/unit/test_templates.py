"""The model's key templates as pure rules: fields, padding, rejects, escaping, collisions."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapping.templates import Field, TemplateError, could_collide, parse_template, render

COLUMNS = ("customer_id", "rental_id", "rental_date", "name")


def t(text):
    return parse_template(text, COLUMNS, "model.t.from.db.x.pk")


def test_literals_and_fields():
    template = t("CUSTOMER#{customer_id}")
    assert template.parts == ("CUSTOMER#", Field("customer_id"))
    assert render(template, {"customer_id": "42"}) == ("CUSTOMER#42", None)
    assert render(t("PROFILE"), {}) == ("PROFILE", None)
    assert t("{rental_date}").literal_prefix == ""


@pytest.mark.parametrize(
    "value, key",
    [
        ("7", "RENTAL#0000000007"),
        ("0", "RENTAL#0000000000"),
        ("0042", "RENTAL#0000000042"),
        ("9999999999", "RENTAL#9999999999"),
    ],
)
def test_padding_orders_numbers_as_text(value, key):
    assert render(t("RENTAL#{rental_id:010}"), {"rental_id": value}) == (key, None)


@pytest.mark.parametrize(
    "value, why",
    [
        ("-1", "'-1', negative"),
        ("12345678901", "wider than the 10 digits"),
        ("1.5", "not a whole number"),
        ("", "not a whole number"),
        ("٣", "not a whole number"),  # a digit, but not an ASCII one
    ],
)
def test_values_padding_cannot_hold_are_rejects_naming_the_column(value, why):
    key, reason = render(t("RENTAL#{rental_id:010}"), {"rental_id": value})
    assert key is None and why in reason and "'rental_id'" in reason and "RENTAL#{rental_id:010}" in reason


def test_a_null_key_value_is_a_reject():
    assert render(t("C#{customer_id}"), {"customer_id": None}) == (
        None,
        "key template 'C#{customer_id}': column 'customer_id' is NULL",
    )


def test_braces_are_escaped_by_doubling():
    template = t("{{literal}}#{name}")
    assert render(template, {"name": "x"}) == ("{literal}#x", None)
    assert template.literal_prefix == "{literal}#"


def test_separators_in_values_are_escaped_so_keys_stay_apart():
    template = t("A#{customer_id}#{name}")
    one = render(template, {"customer_id": "1#2", "name": "3"})[0]
    other = render(template, {"customer_id": "1", "name": "2#3"})[0]
    assert one == "A#1\\#2#3" and other == "A#1#2\\#3" and one != other
    assert render(template, {"customer_id": "1\\", "name": "#"})[0] == "A#1\\\\#\\#"


@given(st.tuples(st.text(), st.text()), st.tuples(st.text(), st.text()))
def test_different_values_never_make_one_key(one, other):
    template = t("A#{customer_id}#{name}")
    keys = [render(template, {"customer_id": a, "name": b})[0] for a, b in (one, other)]
    assert (keys[0] == keys[1]) == (one == other)


@pytest.mark.parametrize(
    "text, words",
    [
        ("C#{nope}", "column 'nope', which its table does not have"),
        ("C#{customer_id", "malformed field"),
        ("C#{customer_id:10}", "malformed field"),  # a width without its leading 0
        ("C#}", "a '}' with no '{'"),
        ("C#{}", "malformed field"),
    ],
)
def test_bad_templates_are_refused_in_one_line_naming_where(text, words):
    with pytest.raises(TemplateError) as refused:
        t(text)
    message = str(refused.value)
    assert words in message and message.startswith("model.t.from.db.x.pk: ") and "\n" not in message


@pytest.mark.parametrize(
    "one, other, collide",
    [
        ("RENTAL#{rental_id}", "PAYMENT#{rental_id}", False),
        ("PROFILE", "RENTAL#{rental_id}", False),
        ("PROFILE", "PROFILE", True),
        ("R#{rental_id}", "R#{customer_id}", True),
        ("R#{rental_id}", "R#X#{customer_id}", True),  # one prefix holds the other
        ("{rental_id}", "PAYMENT#{rental_id}", True),  # no prefix at all
        ("R#7", "R#{rental_id}", True),  # the literal is one of its keys
        ("P#7", "R#{rental_id}", False),
    ],
)
def test_collisions_are_decided_by_what_keys_start_with(one, other, collide):
    assert could_collide(t(one), t(other)) == collide
    assert could_collide(t(other), t(one)) == collide


@pytest.mark.parametrize(
    "text, why",
    [
        ("{customer_id}{rental_id}", "need a literal holding '#'"),
        ("{customer_id}-{rental_id}", "needs a '#'"),
        ("A{name}x\\#{rental_id}", "has a '\\' before its first '#'"),
    ],
)
def test_keys_that_cannot_be_read_back_are_named(text, why):
    from mapping.templates import unreadable

    assert why in unreadable(t(text))


@pytest.mark.parametrize(
    "text", ["CUSTOMER#{customer_id}", "RENTAL#{rental_id:010}", "{customer_id:05}{rental_id}", "{name}.x", "A#{name}"]
)
def test_readable_templates(text):
    from mapping.templates import unreadable

    assert unreadable(t(text)) is None


def test_a_key_read_back_gives_its_columns():
    from mapping.templates import read_key

    assert read_key(t("CUSTOMER#{customer_id}#R#{rental_id:010}"), "CUSTOMER#4#R#0000000012") == {
        "customer_id": "4",
        "rental_id": "12",
    }
    assert read_key(t("C#{name}"), "C#a\\#b") == {"name": "a#b"}
    assert read_key(t("{name}.x"), "a.x.x") == {"name": "a.x"}
    assert read_key(t("CUSTOMER#{customer_id}"), "PAYMENT#4") is None
    assert read_key(t("CUSTOMER#{customer_id}"), "CUSTOMER#") == {"customer_id": ""}
    assert read_key(t("RENTAL#{rental_id:010}"), "RENTAL#12") is None
    assert read_key(t("C#{name}"), "C#a#b") is None


@given(
    st.text(alphabet="ab#\\{}0", max_size=6),
    st.text(alphabet="ab#\\0", max_size=6),
    st.integers(min_value=0, max_value=99999),
)
def test_reading_a_rendered_key_gives_back_its_values(name, other, number):
    from mapping.templates import read_key, unreadable

    for text in ("N#{name}#{customer_id}#R#{rental_id:05}", "{name}#{customer_id}", "X{rental_id:05}{name}.s"):
        template = t(text)
        assert unreadable(template) is None
        row = {"name": name, "customer_id": other, "rental_id": str(number)}
        key, why = render(template, row)
        assert why is None
        expected = {c: row[c] for c in template.columns}
        assert read_key(template, key) == expected
