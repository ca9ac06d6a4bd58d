import re

import pytest

from jobs.config import Config, merge
from jobs.errors import ConfigError
from jobs.planner import build_plan
from mapping.keys import row_digest
from mapping.schema import Column, SourceTable, UniqueKey


def table(name="orders", columns=("id", "customer", "note"), pk=("id",), uniques=()):
    cols = tuple(
        Column(c, "int" if c == "id" else "varchar", "varchar(20)", False, i + 1) for i, c in enumerate(columns)
    )
    return SourceTable("shop", name, cols, tuple(pk), tuple(uniques), estimated_rows=10)


def plan_of(tables, settings=None):
    return build_plan(tables, merge(Config(), settings or {}, "test"))


def test_default_plan_names_and_keys():
    plan = plan_of([table()])
    (only,) = plan.tables
    assert (only.target, only.key.describe(), only.attributes) == (
        "shop_orders",
        "HASH id [primary key]",
        ("id", "customer", "note"),
    )
    assert only.render_sql[0] == "CAST(`id` AS CHAR)"


def test_overrides_key_exclusions_renames_and_target():
    plan = plan_of(
        [table()],
        {
            "tables": {
                "shop.orders": {
                    "key": ["customer", "id"],
                    "exclude_columns": ["note"],
                    "rename": {"customer": "customerId"},
                    "target": "Orders.v2",
                }
            }
        },
    )
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
    assert plan.tables == [] and "key column(s) ['id'] cannot be excluded" in plan.skipped[0].reason


@pytest.mark.parametrize(
    "override, fragment",
    [
        ({"rename": {"nope": "x"}}, "tables.shop.orders.rename names column(s) ['nope']"),
        ({"exclude_columns": ["ssn_typo"]}, "tables.shop.orders.exclude_columns names column(s) ['ssn_typo']"),
        ({"key": ["id", "nope"]}, "tables.shop.orders.key names column(s) ['nope']"),
    ],
)
def test_an_override_naming_a_column_the_table_lacks_is_an_error_before_anything_runs(override, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        plan_of([table()], {"tables": {"shop.orders": override}})


def test_an_override_for_a_table_that_is_not_there_is_an_error_and_one_not_selected_is_kept():
    with pytest.raises(ConfigError, match=r"conf tables key 'shop.ordres' names no table of database\(s\) shop"):
        plan_of([table()], {"tables": {"shop.ordres": {"exclude_columns": ["ssn"]}}})
    plan = plan_of(
        [table(), table("other")],
        {"source": {"tables": ["other"]}, "tables": {"shop.orders": {"exclude_columns": ["note"]}}},
    )
    assert [p.source.name for p in plan.tables] == ["other"]


def test_unsupported_type_skips_only_that_table():
    odd = SourceTable(
        "shop", "vectors", (Column("id", "int", "int", False, 1), Column("v", "vector", "vector(3)", True, 2)), ("id",)
    )
    plan = plan_of([table(), odd])
    assert [p.source.name for p in plan.tables] == ["orders"]
    assert plan.skipped[0].qualified_name == "shop.vectors"
    assert "column shop.vectors.v has type 'vector(3)'" in plan.skipped[0].reason


def test_two_tables_onto_one_target_is_a_config_error():
    with pytest.raises(ConfigError, match="both map to DynamoDB table 'same'"):
        plan_of([table("a"), table("b")], {"naming": {"template": "same"}})


def test_unique_key_and_no_key_tables():
    keyed = table("u", pk=(), uniques=(UniqueKey("email_uq", ("customer",)),))
    bare = table("bare", pk=())
    plan = plan_of([keyed, bare])
    assert plan.tables[0].key.describe() == "HASH customer [unique key `email_uq`]"
    assert plan.tables[1].key.synthesized_hash and "no primary key" in plan.tables[1].notes[0]


def test_layout_rows_carry_the_synthesised_range_and_row_id_the_load_writes():
    composite = table("c", pk=("id", "customer", "note"))
    bare = table("bare", pk=())
    keyed, keyless = plan_of([composite, bare]).tables
    assert keyed.layout_row(["1", "a#b", "c"]) == ["1", "a#b", "c", "a\\#b#c"]
    # a NULL part (only a key override can name a nullable column) is left out, as Spark's
    # concat_ws leaves it out of the RANGE the load writes
    assert keyed.layout_row(["1", "a#b", None]) == ["1", "a#b", None, "a\\#b"]
    assert keyed.layout(Config().dynamodb.null_as).attributes[-1] == keyed.key.range_attribute
    assert keyless.layout_row(["1", "x", None]) == ["1", "x", None, row_digest(["1", "x", None])]
    assert keyless.layout(Config().dynamodb.null_as).attributes[-1] == "_row_id"


def test_tables_that_print_alike_get_their_own_targets_and_overrides():
    dotted = SourceTable("dotdb", "b.c", table().columns, ("id",))
    other = SourceTable("dotdb.b", "c", table().columns, ("id",))
    plan = plan_of([dotted, other])
    assert [(p.identity, p.target) for p in plan.tables] == [
        (("dotdb", "b.c"), "dotdb_b.c"),
        (("dotdb.b", "c"), "dotdb.b_c"),
    ]
    with pytest.raises(ConfigError, match="matches more than one table; write it as `dotdb`.`b.c` or"):
        plan_of([dotted, other], {"tables": {"dotdb.b.c": {"target": "x_y_z"}}})
    plan = plan_of([dotted, other], {"tables": {"`dotdb.b`.`c`": {"target": "chosen"}}})
    assert [p.target for p in plan.tables] == ["dotdb_b.c", "chosen"]


def test_exact_table_names_select_themselves_even_with_glob_characters():
    plan = plan_of([table("t[1]"), table("t1")], {"source": {"tables": ["t[1]"]}})
    assert sorted(p.source.name for p in plan.tables) == ["t1", "t[1]"]  # the glob still matches t1 too
    plan = plan_of([table("t[1]"), table("t1")], {"source": {"tables": ["shop.t[1]"], "exclude": ["t1"]}})
    assert [p.source.name for p in plan.tables] == ["t[1]"]


def test_approximate_or_non_unique_keys_are_flagged_before_writing():
    floats = SourceTable(
        "shop", "f", (Column("k", "float", "float", False, 1), Column("v", "int", "int", True, 2)), ("k",)
    )
    plan = plan_of([floats, table()], {"tables": {"shop.orders": {"key": ["customer"]}}})
    approximate, overridden = plan.tables
    assert "approximate (FLOAT/DOUBLE)" in approximate.key_collision
    assert any(n.startswith("WARNING key column(s) k are approximate") for n in approximate.notes)
    assert "not a unique index" in overridden.key_collision
    assert plan_of([table()]).tables[0].key_collision is None


def test_system_versioned_tables_are_planned_with_a_note():
    versioned = SourceTable("shop", "h", table().columns, ("id",), kind="SYSTEM VERSIONED")
    (only,) = plan_of([versioned]).tables
    assert "current rows are migrated, not its history" in " ".join(only.notes)
