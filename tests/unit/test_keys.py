import itertools

import pytest

from mapping.keys import KeyChoiceError, choose_key, decode_composite, encode_composite
from mapping.schema import Column, SourceTable, UniqueKey


def table(pk=(), uniques=(), nullable=()):
    names = ["a", "b", "c", "d"]
    columns = tuple(Column(n, "varchar", "varchar(10)", n in nullable, i + 1) for i, n in enumerate(names))
    return SourceTable("db", "t", columns, tuple(pk), tuple(UniqueKey(n, tuple(c)) for n, c in uniques))


def key_of(t, override=None):
    return choose_key(t, lambda c: c, "_sort_key", "_row_id", override)


def test_one_column_key_is_hash_only():
    key = key_of(table(pk=["b"]))
    assert (key.hash_attribute, key.range_attribute, key.range_columns) == ("b", None, ())


def test_two_column_key_is_hash_and_range_in_key_order():
    key = key_of(table(pk=["c", "a"]))
    assert (key.hash_attribute, key.range_attribute) == ("c", "a")
    assert not key.synthesized_range


def test_three_column_key_synthesises_range_from_the_rest():
    key = key_of(table(pk=["a", "b", "c"]))
    assert (key.hash_attribute, key.range_attribute, key.range_columns) == ("a", "_sort_key", ("b", "c"))
    assert key.synthesized_range


def test_no_primary_key_uses_first_not_null_unique_key():
    key = key_of(table(uniques=[("u1", ["a"]), ("u2", ["b", "c"])], nullable=["a"]))
    assert (key.hash_attribute, key.range_attribute) == ("b", "c")
    assert key.origin == "unique key `u2`"


def test_no_key_at_all_synthesises_row_id():
    key = key_of(table(uniques=[("u1", ["a"])], nullable=["a"]))
    assert key.synthesized_hash and key.hash_attribute == "_row_id" and key.range_attribute is None


def test_override_and_renames_apply():
    key = choose_key(table(pk=["a"]), lambda c: c.upper(), "_s", "_r", ["d", "b"])
    assert (key.hash_attribute, key.range_attribute, key.origin) == ("D", "B", "config override")


def test_override_with_unknown_column_names_the_table():
    with pytest.raises(KeyChoiceError, match="db.t: key override names unknown column"):
        key_of(table(pk=["a"]), ["zz"])


def test_synthesised_attribute_clashing_with_a_column_is_refused():
    with pytest.raises(KeyChoiceError, match="clashes"):
        choose_key(table(pk=["a", "b", "c"]), lambda c: c, "d", "_row_id")


TRICKY = ["", "#", "\\", "a#b", "a\\#b", "\\\\", "##", "x", "a\\", "#a"]


def test_composite_encoding_never_collides_and_round_trips():
    seen = {}
    for values in itertools.product(TRICKY, repeat=2):
        encoded = encode_composite(values)
        assert decode_composite(encoded) == values
        assert seen.setdefault(encoded, values) == values, f"{values} collides with {seen[encoded]}"


def test_composite_encoding_sorts_like_the_source_for_plain_text():
    rows = [("a", "2"), ("a", "10"), ("b", "1"), ("ab", "0")]
    assert sorted(rows) == sorted(rows, key=encode_composite)


def test_a_key_in_a_character_set_with_unprintable_bytes_may_merge_rows():
    """Issue 22, defect 2: greek X'41AE', X'41D2' and 'A?' all print 'A?'."""
    from mapping.keys import choose_key, collision_risk
    from mapping.schema import Column, SourceTable

    def keyed(charset):
        column = Column("g", "varchar", "varchar(10)", False, 1, charset=charset, collation=f"{charset}_general_ci")
        return SourceTable("db", "t", (column,), ("g",))

    greek = keyed("greek")
    risk = collision_risk(greek, choose_key(greek, lambda c: c, "_sort_key", "_row_id"))
    assert risk is not None and "character set greek" in risk
    for total in ("utf8mb4", "latin1"):
        table = keyed(total)
        assert collision_risk(table, choose_key(table, lambda c: c, "_sort_key", "_row_id")) is None
