import datetime
import random

import pytest

from mapping.partitioning import (
    equal_width_boundaries,
    key_at_least,
    key_below,
    literal,
    midpoint,
    partition_count,
    range_predicates,
    split_index,
    split_kind,
)
from mapping.schema import Column, SourceTable, UniqueKey


def test_small_tables_stay_one_partition():
    assert partition_count(999, 1000, 50) == 1
    assert partition_count(10_001, 1000, 50) == 11
    assert partition_count(10**9, 1000, 50) == 50


def test_a_table_big_enough_gets_a_few_partitions_per_slot_none_under_the_minimum():
    """Issue 20: a 200,000-row table was 2 partitions (100,000 rows each) on any cluster."""
    rule = {"min_partition_rows": 10_000, "partitions_per_slot": 3}
    assert partition_count(200_000, 100_000, 2000, 2, **rule) == 6
    assert partition_count(60_000, 100_000, 2000, 2, **rule) == 6
    assert partition_count(25_000, 100_000, 2000, 2, **rule) == 2  # two of 12,500, not six of 4,167
    assert partition_count(19_999, 100_000, 2000, 2, **rule) == 1  # small tables stay one read
    assert partition_count(200_000, 100_000, 2000, 64, **rule) == 20  # of 10,000, all in one wave
    assert partition_count(10**9, 100_000, 2000, 64, **rule) == 1984  # capped, in whole waves
    assert partition_count(500, 100, 2000, 2, **rule) == 6  # a lower rows_per_partition lowers the minimum


def test_partitions_come_in_whole_waves_of_task_slots():
    assert partition_count(3080, 375, 100, task_slots=2) == 10  # not 9: no lone last task
    assert partition_count(10_001, 1000, 50, task_slots=4) == 12
    assert partition_count(10**9, 1000, 50, task_slots=8) == 48


def test_equal_width_boundaries():
    assert equal_width_boundaries(1, 100, 4) == [26, 51, 76]
    assert equal_width_boundaries(5, 6, 10) == [6]


def test_composite_predicates_are_expanded_and_half_open():
    assert key_below(["`a`", "`b`"], ["1", "2"]) == "`a` < 1 OR (`a` = 1 AND `b` < 2)"
    assert key_at_least(["`a`", "`b`"], ["1", "2"]) == "`a` > 1 OR (`a` = 1 AND `b` >= 2)"
    assert key_below(["`a`", "`b`"], ["1"]) == "`a` < 1"  # a prefix compares its columns only


def in_range(predicate, key):
    """Evaluate our generated predicates on a Python tuple (a, b); NULL compares as no value."""
    a, b = key
    expression = predicate.replace("`m2d_k0` IS NULL", str(a is None))
    expression = expression.replace("`m2d_k0`", "A").replace("`m2d_k1`", "B").replace(" = ", " == ")
    expression = expression.replace(" AND ", " and ").replace(" OR ", " or ")
    if a is None:
        return "True" in expression.split(" or ")[-1] if "IS NULL" in predicate else False
    return eval(expression, {"A": a, "B": b})


def test_range_predicates_cover_every_key_tuple_exactly_once():
    predicates = range_predicates([("1", "5"), ("1", "9"), ("2", "0")])
    keys = [(a, b) for a in range(4) for b in range(-1, 12)]
    for key in keys:
        assert sum(in_range(p, key) for p in predicates) == 1, key


def test_nulls_of_a_nullable_unique_key_go_to_the_first_partition():
    predicates = range_predicates([("10",)], nullable_first=True)
    assert predicates == ["(`m2d_k0` < 10) OR `m2d_k0` IS NULL", "`m2d_k0` >= 10"]


def column(kind, **extra):
    return Column("k", kind, kind, False, 1, **extra)


def test_literals_carry_any_byte_in_the_columns_own_type_and_collation():
    text = column("varchar", charset="utf8mb4", collation="utf8mb4_unicode_ci")
    assert literal(text, "a'b\\") == "CONVERT(X'6127625c' USING utf8mb4) COLLATE utf8mb4_unicode_ci"
    assert literal(column("binary"), b"\x00'\xff") == "X'0027ff'"
    assert literal(column("decimal"), "12.5000") == "12.5000"
    assert literal(column("datetime"), "2024-01-01 00:00:00.000001") == "'2024-01-01 00:00:00.000001'"
    with pytest.raises(ValueError):
        literal(column("datetime"), "1' OR '1")
    with pytest.raises(ValueError):
        literal(column("decimal"), "1; DROP")


@pytest.mark.parametrize(
    "kind, low, high",
    [
        ("integer", 1, 100),
        ("number", "1.0000", "2.0000"),
        ("datetime", "2024-01-01 00:00:00.000000", "2024-01-02 00:00:00.000000"),
        ("date", "2020-01-01", "2024-01-01"),
        ("time", "-838:59:59.000000", "838:59:59.000000"),
        ("binary", b"\x00", b"\xff\xff"),
    ],
)
def test_midpoints_fall_strictly_between(kind, low, high):
    middle = midpoint(kind, low, high)
    assert middle is not None and middle not in (low, high)
    if kind == "binary":
        assert low < middle < high
    if kind == "datetime":
        assert middle == "2024-01-01 12:00:00.000000"


def test_no_midpoint_between_neighbours():
    assert midpoint("integer", 5, 6) is None
    assert midpoint("binary", b"a", b"a\x00") is None


def test_string_midpoints_follow_the_servers_alphabet():
    alphabet = "-0123456789abcdef"  # as a case-insensitive collation sorts UUID characters
    middle = midpoint("string", "00000000-0000", "ffffffff-ffff", alphabet)
    assert set(middle) <= set(alphabet) and "00000000-0000" < middle < "ffffffff-ffff"
    assert midpoint("string", "a", "b", "") is None  # no alphabet: no guess


def test_string_midpoints_sort_strictly_between_for_every_pair():
    # Read as numbers, a midpoint may hold a zero digit ("the string ends here") before
    # non-zero ones: written out as text, that digit used to vanish and the rest shifted
    # left, so the "midpoint" sorted outside the pair and the split peeled one key per dive.
    alphabet = "-0123456789abcdef"  # single-character groups: the server's order is Python's here
    draw = random.Random(7)
    for _ in range(20_000):
        low, high = sorted("".join(draw.choice(alphabet) for _ in range(draw.randint(0, 6))) for _ in range(2))
        middle = midpoint("string", low, high, alphabet)
        assert middle is None or low < middle < high, (low, high, middle)
    assert "" < midpoint("string", "", "-7", alphabet) < "-7"  # was "b7": "-" + a zero digit + "7"


def test_split_index_prefers_the_primary_key_and_skips_unordered_columns():
    columns = (
        Column("id", "char", "char(36)", False, 1, charset="utf8mb4", collation="utf8mb4_general_ci"),
        Column("g", "point", "point", False, 2),
        Column("n", "int", "int", True, 3),
    )
    table = SourceTable("d", "t", columns, ("g",), (UniqueKey("u_n", ("n",)), UniqueKey("u_id", ("id",))))
    assert split_index(table)[:2] == ("u_n", ("n",))  # PK has no order; a nullable 1-column key is fine
    assert split_kind(columns[1]) is None and split_kind(columns[0]) == "string"
    bare = SourceTable("d", "t", columns, ())
    assert split_index(bare) == (None, (), "no primary or unique key")


def test_temporal_midpoint_keeps_microseconds():
    low, high = "2024-01-01 00:00:00.000001", "2024-01-01 00:00:00.000003"
    assert midpoint("datetime", low, high) == "2024-01-01 00:00:00.000002"
    assert (
        datetime.datetime.strptime(
            midpoint("timestamp", "2001-01-01 00:00:00", "2003-01-01 00:00:00"), "%Y-%m-%d %H:%M:%S.%f"
        ).year
        == 2002
    )


def test_enum_keys_split_by_member_position_with_in_lists():
    from mapping.partitioning import comparison, enum_values

    e = Column("e", "enum", "enum('zeta','it''s','mid')", False, 1, charset="utf8mb4", collation="utf8mb4_bin")
    assert enum_values(e.column_type) == ["zeta", "it's", "mid"]
    assert literal(e, "it's") == "2" and midpoint("enum", "zeta", "mid", enum_values(e.column_type)) == "it's"
    written = comparison(e)
    assert written("`e`", ">", "1") == (
        "`e` IN (CONVERT(X'69742773' USING utf8mb4) COLLATE utf8mb4_bin, "
        "CONVERT(X'6d6964' USING utf8mb4) COLLATE utf8mb4_bin)"
    )
    # the error value '' (stored under a non-strict sql_mode) sorts before every member
    assert written("`e`", "<", "1") == "`e` IN (CONVERT(X'' USING utf8mb4) COLLATE utf8mb4_bin)"
    assert literal(e, "") == "0" and written("`e`", "<", "0") == "0 = 1"
    assert key_below(["`e`", "`id`"], ["2", "7"], [written, comparison(column("int"))]).startswith(
        "`e` IN (CONVERT(X'' USING utf8mb4) COLLATE utf8mb4_bin, CONVERT(X'7a657461'"
    )


def test_latin1_text_holds_the_bytes_cp1252_leaves_undefined():
    from mapping.partitioning import decode_text, encode_text

    every_high_byte = bytes(range(0x80, 0x100))
    text = decode_text(every_high_byte, "latin1")
    assert text[1] == "\x81" and text[0] == "€"
    assert encode_text(text, "latin1") == every_high_byte
    s = Column("k", "varchar", "varchar(9)", False, 1, charset="latin1", collation="latin1_swedish_ci")
    assert literal(s, text[:2]) == "CONVERT(X'8081' USING latin1) COLLATE latin1_swedish_ci"
