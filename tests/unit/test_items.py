import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mapping.items import MAX_ITEM_BYTES, item_digest, item_size, plain_item, reject_reason, to_wire, write_units


def test_item_size_counts_utf8_names_and_values():
    assert item_size({"id": "1", "név": "ő"}) == 2 + 1 + 4 + 2
    assert item_size({"gone": None}) == 5


def test_write_units_round_up_per_kilobyte():
    assert [write_units(n) for n in (0, 1, 1024, 1025, 4096)] == [1, 1, 1, 2, 4]


def test_nulls_are_absent_by_default_and_null_on_request():
    assert plain_item(["1", None, ""], ["a", "b", "c"]) == {"a": "1", "c": ""}
    assert plain_item(["1", None], ["a", "b"], "null") == {"a": "1", "b": None}
    assert to_wire({"a": "1", "b": None}) == {"a": {"S": "1"}, "b": {"NULL": True}}


def test_reject_reasons():
    ok = {"h": "1", "r": "x"}
    assert reject_reason(ok, item_size(ok), "h", "r") is None
    assert "empty string" in reject_reason({"h": "", "r": "x"}, 3, "h", "r")
    assert "is NULL" in reject_reason({"h": "1"}, 2, "h", "r")
    assert "RANGE key attribute 'r' is 1025 bytes" in reject_reason({"h": "1", "r": "é" * 512 + "x"}, 1100, "h", "r")
    assert "HASH" in reject_reason({"h": "x" * 2049}, 2050, "h", None)
    big = {"h": "1", "blob": "x" * MAX_ITEM_BYTES}
    assert "over DynamoDB's 409600-byte limit" in reject_reason(big, item_size(big), "h", None)


def test_build_item_uses_the_layout_and_decides_rejects():
    from mapping.items import ItemLayout, build_item, key_of

    layout = ItemLayout(("id", "name", "_sort_key"), "id", "_sort_key", ("id", "name"), "absent")
    item, size, reason = build_item(["1", None, "a#b"], layout)
    assert item == {"id": "1", "_sort_key": "a#b"} and size == item_size(item) and reason is None
    assert key_of(item, layout) == ("1", "a#b") and layout.item_key == ("id", "_sort_key")
    assert "is NULL" in build_item([None, "x", "k"], layout)[2]


def test_item_size_counts_utf8_bytes_of_names_and_values_ascii_or_not():
    from mapping.items import item_size, utf8_len

    assert item_size({"id": "42", "note": None}) == 2 + 2 + 4 + 1
    assert item_size({"prénom": "José", "e": "😀"}) == 7 + 5 + 1 + 4
    assert utf8_len("naïve") == 6 and utf8_len("plain") == 5


# item_digest: what a comparison tells apart
def test_the_digest_ignores_attribute_order_only():
    assert item_digest({"a": "1", "b": None}) == item_digest({"b": None, "a": "1"})


@pytest.mark.parametrize(
    "one, other",
    [
        ({"ab": "c"}, {"a": "bc"}),  # a name/value boundary moved
        ({"a": "1:b"}, {"a": "1", "b": ""}),  # a value that looks like the next attribute
        ({"a": None}, {"a": "~"}),  # NULL against the text NULL is written as
        ({"a": None}, {"a": ""}),
        ({"a": None}, {}),  # a NULL attribute kept against none at all
        ({"a": "x"}, {"a": "x "}),
        ({"a": "é"}, {"a": "e\u0301"}),  # no normalisation: the text as it is
    ],
)
def test_items_that_differ_have_different_digests(one, other):
    assert item_digest(one) != item_digest(other)


@given(st.dictionaries(st.text(max_size=4), st.one_of(st.none(), st.text(max_size=4)), max_size=3), st.data())
def test_changing_any_value_changes_the_digest(item, data):
    assume(item)
    name = data.draw(st.sampled_from(sorted(item)))
    value = data.draw(st.one_of(st.none(), st.text(max_size=5)))
    assume(value != item[name])
    assert item_digest(item) != item_digest(dict(item, **{name: value}))
