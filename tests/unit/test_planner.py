import pytest

from jobs.config import Config, merge
from jobs.errors import ConfigError
from jobs.planner import build_plan
from mapping.schema import Column, SourceTable, UniqueKey


def table(name="orders", columns=("id", "customer", "note"), pk=("id",), uniques=()):
    cols = tuple(Column(c, "int" if c == "id" else "varchar", "varchar(20)", False, i + 1)
                 for i, c in enumerate(columns))
    return SourceTable("shop", name, cols, tuple(pk), tuple(uniques), estimated_rows=10)


def plan_of(tables, settings=None):
    return build_plan(tables, merge(Config(), settings or {}, "test"))


def test_default_plan_names_and_keys():
    plan = plan_of([table()])
    (only,) = plan.tables
    assert (only.target, only.key.describe(), only.attributes) == ("shop_orders", "HASH id [primary key]",
                                                                   ("id", "customer", "note"))
    assert only.render_sql[0] == "CAST(`id` AS CHAR)"


def test_overrides_key_exclusions_renames_and_target():
    plan = plan_of([table()], {"tables": {"shop.orders": {
        "key": ["customer", "id"], "exclude_columns": ["note"], "rename": {"customer": "customerId"},
        "target": "Orders.v2"}}})
    (only,) = plan.tables
    assert only.target == "Orders.v2"
    assert only.attributes == ("id", "customerId")
    assert (only.key.hash_attribute, only.key.range_attribute) == ("customerId", "id")


def test_include_and_exclude_globs():
    tables = [table("orders"), table("orders_archive"), table("tmp_x")]
    plan = plan_of(tables, {"source": {"tables": ["orders*", "shop.tmp_*"], "exclude": ["*_archive"]}})
    assert [p.source.name for p in plan.tables] == ["orders", "tmp_x"]


def test_bad_overrides_skip_the_table_with_a_reason():
    plan = plan_of([table()], {"tables": {"shop.orders": {"exclude_columns": ["id"]}}})
    assert plan.tables == [] and "key column(s) ['id'] cannot be excluded" in plan.skipped[0][1]
    plan = plan_of([table()], {"tables": {"shop.orders": {"rename": {"nope": "x"}}}})
    assert "rename names unknown column(s) ['nope']" in plan.skipped[0][1]


def test_unsupported_type_skips_only_that_table():
    odd = SourceTable("shop", "vectors", (Column("id", "int", "int", False, 1), Column("v", "vector", "vector(3)", True, 2)),
                      ("id",))
    plan = plan_of([table(), odd])
    assert [p.source.name for p in plan.tables] == ["orders"]
    assert plan.skipped[0][0] == "shop.vectors" and "column shop.vectors.v has type 'vector(3)'" in plan.skipped[0][1]


def test_two_tables_onto_one_target_is_a_config_error():
    with pytest.raises(ConfigError, match="both map to DynamoDB table 'same'"):
        plan_of([table("a"), table("b")], {"naming": {"template": "same"}})


def test_unique_key_and_no_key_tables():
    keyed = table("u", pk=(), uniques=(UniqueKey("email_uq", ("customer",)),))
    bare = table("bare", pk=())
    plan = plan_of([keyed, bare])
    assert plan.tables[0].key.describe() == "HASH customer [unique key `email_uq`]"
    assert plan.tables[1].key.synthesized_hash and "no primary key" in plan.tables[1].notes[0]
