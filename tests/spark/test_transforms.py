from chispa import assert_df_equality
from pyspark.sql import types as T

from jobs.load.transforms import with_composite_key, with_row_id
from mapping.keys import encode_composite

SCHEMA = T.StructType(
    [T.StructField("c0", T.StringType()), T.StructField("c1", T.StringType()), T.StructField("c2", T.StringType())]
)
TRICKY = [
    ("1", "a#b", "c"),
    ("1", "a", "b#c"),
    ("2", "x\\", "#"),
    ("3", "", ""),
    ("4", "\\#", "\\\\"),
    ("5", "naïve ☕", "2024-01-01 00:00:00.5"),
]


def test_composite_key_matches_the_pure_rule(spark):
    source = spark.createDataFrame(TRICKY, SCHEMA)
    actual = source.transform(with_composite_key(["c1", "c2"], "k"))
    expected_schema = T.StructType(SCHEMA.fields + [T.StructField("k", T.StringType(), False)])
    expected = spark.createDataFrame([r + (encode_composite(r[1:]),) for r in TRICKY], expected_schema)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_composite_keys_of_separator_values_do_not_collide(spark):
    keys = spark.createDataFrame(TRICKY, SCHEMA).transform(with_composite_key(["c1", "c2"], "k")).select("k")
    assert keys.distinct().count() == len(TRICKY)


def test_row_id_is_deterministic_and_numbers_exact_duplicates(spark):
    rows = [("1", None, "x"), ("1", None, "x"), ("1", None, "x"), ("1", "", "x"), ("2", "b", None)]
    first = spark.createDataFrame(rows, SCHEMA).transform(with_row_id(["c0", "c1", "c2"], "rid"))
    again = (
        spark.createDataFrame(list(reversed(rows)), SCHEMA)
        .repartition(3)
        .transform(with_row_id(["c0", "c1", "c2"], "rid"))
    )
    assert_df_equality(first, again, ignore_row_order=True, ignore_nullable=True)
    ids = [r.rid for r in first.collect()]
    assert len(set(ids)) == len(rows)  # duplicates kept apart; NULL and '' differ
    digests = {i.split("#")[0] for i in ids}
    assert len(digests) == 3
    assert sorted(i.split("#")[1] for i in ids if "#" in i) == ["2", "3"]


def test_row_id_matches_the_pure_rule_catch_up_uses(spark):
    from mapping.keys import row_digest, row_id

    rows = TRICKY + [("1", None, "x"), ("1", None, "x"), ("6", None, None)]
    actual = spark.createDataFrame(rows, SCHEMA).transform(with_row_id(["c0", "c1", "c2"], "rid"))
    seen = {}
    expected_rows = []
    for row in rows:
        digest = row_digest(row)
        seen[digest] = seen.get(digest, 0) + 1
        expected_rows.append(row + (row_id(digest, seen[digest]),))
    expected_schema = T.StructType(SCHEMA.fields + [T.StructField("rid", T.StringType())])
    expected = spark.createDataFrame(expected_rows, expected_schema)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
