"""Every value as MySQL prints it, every table shape keyed without loss, rejects not crashes."""

import base64
import os

import pytest

from mapping.keys import decode_composite
from tests.e2e import fidelity_db
from tests.e2e.stack import canonical, dynamo_items, present, run_job, source_rows, without

DB = fidelity_db.DATABASE


@pytest.fixture(scope="module")
def migrated(stack, tmp_path_factory):
    fidelity_db.create(stack.connect())
    tmp = tmp_path_factory.mktemp("fidelity")
    # The JVM in a zone with DST gaps and the server at +05:30: output must still be UTC text.
    run = run_job(
        stack,
        ["--database", DB],
        tmp,
        env={"TZ": "America/New_York"},
        spark_conf=[
            "spark.driver.extraJavaOptions=-Duser.timezone=America/New_York",
            "spark.sql.session.timeZone=Asia/Tokyo",
        ],
    )
    return run, tmp


def items_of(stack, run, table):
    return dynamo_items(stack.dynamodb(), run.table(f"{DB}.{table}")["target"])


def test_complete_with_rejects_exit_code(migrated):
    run, _ = migrated
    assert run.code == 3, run.output[-3000:]
    statuses = {t["table"]: t["status"] for t in run.report["tables"]}
    assert "v_types" not in statuses  # views are not migrated, only listed
    assert {o["table"] for o in run.report["not_migrated"]} == {"v_types"}
    assert {s for name, s in statuses.items() if name in ("docs", "codes", "pairs")} == {"completed with rejects"}
    assert all(s.startswith("completed") for s in statuses.values()), statuses


def test_every_type_renders_exactly_as_mysql_prints_it(stack, migrated):
    run, _ = migrated
    expected = {r["id"]: present(r) for r in source_rows(stack, DB, "types")}
    actual = {i["id"]: i for i in items_of(stack, run, "types")}
    assert sorted(actual) == sorted(expected)
    mismatches = [
        (row_id, column, expected[row_id].get(column), actual[row_id].get(column))
        for row_id in expected
        for column in set(expected[row_id]) | set(actual[row_id])
        if expected[row_id].get(column) != actual[row_id].get(column)
    ]
    assert mismatches == []


def test_spot_values_match_the_documented_renderings(stack, migrated):
    run, _ = migrated
    rows = {i["id"]: i for i in items_of(stack, run, "types")}
    assert rows["2"]["c_ubigint"] == "18446744073709551615"
    assert rows["2"]["c_bool"] == "2" and rows["1"]["c_bool"] == "-1"
    assert rows["2"]["c_dec"] == "9999999999999999.9999" and rows["4"]["c_dec2"] == "12.50"
    assert rows["4"]["c_float"] == "1e20" and rows["4"]["c_double"] == "0"  # MariaDB stores -0e0 as 0
    assert rows["5"]["c_double"] == "0.30000000000000004"
    assert rows["4"]["c_date"] == "0000-00-00" and rows["4"]["c_dt"] == "0000-00-00 00:00:00"
    assert rows["5"]["c_dt"] == "2024-03-10 02:30:00"  # inside New York's DST gap, unshifted
    assert rows["5"]["c_ts"] == "2024-03-10 07:30:00.500"  # TIMESTAMP in UTC, declared 3 digits
    assert rows["1"]["c_time"] == "-838:59:59" and rows["4"]["c_time"] == "100:00:00"
    assert rows["4"]["c_year"] == "0000" and rows["4"]["c_char"] == "a"
    assert rows["2"]["c_bit64"] == "18446744073709551615" and rows["4"]["c_bit64"] == "5"
    assert rows["2"]["c_blob"] == base64.b64encode(fidelity_db.TYPES_PARAMS["blob"]).decode("ascii")
    assert "\n" not in rows["2"]["c_blob"]
    assert rows["2"]["c_geom"] == "LINESTRING(0 0,1.5 2,3 -4)"
    assert rows["4"]["c_varchar"] == fidelity_db.TYPES_PARAMS["specials"]
    assert rows["2"]["c_enum"] == "medium large" and rows["1"]["c_set"] == ""
    assert "c_int" not in rows["3"]  # NULL: attribute absent
    assert rows["1"]["c_varchar"] == ""  # empty strings kept


def test_awkward_identifiers(stack, migrated):
    run, _ = migrated
    result = run.table(f"{DB}.select")
    assert result["target"] != f"{DB}_select"  # not a valid DynamoDB name: rewritten
    assert any("not a valid DynamoDB name" in note for note in result["notes"])
    expected = [present(r) for r in source_rows(stack, DB, "select")]
    assert canonical(items_of(stack, run, "select")) == canonical(expected)


def test_three_column_key_has_no_collisions_and_decodes(stack, migrated):
    run, _ = migrated
    items = items_of(stack, run, "stock")
    expected = [present(r) for r in source_rows(stack, DB, "stock")]
    assert canonical(without(i, "_sort_key") for i in items) == canonical(expected)
    assert len({(i["wh"], i["_sort_key"]) for i in items}) == len(expected) == 7
    for item in items:
        assert decode_composite(item["_sort_key"]) == (item["sku"], item["day"])


def test_rows_without_a_key_keep_duplicates(stack, migrated):
    run, _ = migrated
    items = items_of(stack, run, "events")
    expected = [present(r) for r in source_rows(stack, DB, "events")]
    assert canonical(without(i, "_row_id") for i in items) == canonical(expected)
    assert run.table(f"{DB}.events")["duplicate_rows"] == 2


def test_unique_key_only_table_is_keyed_by_the_not_null_unique_key(stack, migrated):
    run, _ = migrated
    result = run.table(f"{DB}.users_u")
    assert result["key"] == "HASH email [unique key `b_email`]"
    expected = [present(r) for r in source_rows(stack, DB, "users_u")]
    assert canonical(items_of(stack, run, "users_u")) == canonical(expected)


def test_empty_table_gets_an_empty_dynamodb_table(stack, migrated):
    run, _ = migrated
    result = run.table(f"{DB}.empty_one")
    assert (result["status"], result["rows_read"], result["items_written"]) == ("completed", 0, 0)
    assert items_of(stack, run, "empty_one") == []


def test_exactly_the_invalid_rows_are_rejected_with_reasons(stack, migrated):
    run, tmp = migrated
    found = fidelity_db.rejected_rows(os.path.join(str(tmp), "rejects"), DB)
    assert set(found) == set(fidelity_db.EXPECTED_REJECTS)
    for key, fragment in fidelity_db.EXPECTED_REJECTS.items():
        assert fragment in found[key]
    assert sum(t["rejected"] for t in run.report["tables"]) == 4
    # everything else in those tables arrived
    assert sorted(i["id"] for i in items_of(stack, run, "docs")) == ["1", "3"]
    assert [i["code"] for i in items_of(stack, run, "codes")] == ["ok"]
    assert [i["b"] for i in items_of(stack, run, "pairs")] == ["fine"]
