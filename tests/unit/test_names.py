import pytest

from mapping.names import (
    NameCollision,
    assign_target_names,
    display_name,
    is_valid_table_name,
    name_matches,
    path_component,
    render_target_name,
    sanitize_table_name,
    template_problem,
)


def test_default_template_joins_database_and_table():
    assert render_target_name("{database}_{table}", "", "shop", "orders") == "shop_orders"
    assert render_target_name("{table}", "prod-", "shop", "orders") == "prod-orders"


def test_template_with_unknown_placeholder_is_a_clear_error():
    with pytest.raises(ValueError, match="naming.template"):
        render_target_name("{schema}_{table}", "", "shop", "orders")


@pytest.mark.parametrize("name", ["abc", "a.b-c_D9", "x" * 255])
def test_valid_names_are_kept(name):
    assert sanitize_table_name(name) == name


@pytest.mark.parametrize("name", ["ab", "shop_order lines", "shop_naïve", "x" * 256, "a`b", "shop_$money"])
def test_invalid_names_are_rewritten_to_valid_ones(name):
    rewritten = sanitize_table_name(name)
    assert is_valid_table_name(rewritten)
    assert rewritten != name
    assert sanitize_table_name(name) == rewritten  # deterministic


def test_names_that_sanitize_alike_do_not_collide():
    targets = assign_target_names(
        [(("d", "a b"), "d.a b", "d_a b"), (("d", "a$b"), "d.a$b", "d_a$b"), (("d", "a_b"), "d.a_b", "d_a_b")]
    )
    assert len(set(targets.values())) == 3
    assert targets[("d", "a_b")] == "d_a_b"


def test_two_tables_with_one_target_are_refused():
    with pytest.raises(NameCollision, match="d.x and e.y both map"):
        assign_target_names([(("d", "x"), "d.x", "same"), (("e", "y"), "e.y", "same")])


def test_tables_that_print_alike_keep_their_own_targets():
    # `dotdb`.`b.c` and `dotdb.b`.`c` both print as dotdb.b.c: identities, not text, decide.
    first, second = ("dotdb", "b.c"), ("dotdb.b", "c")
    wanted = [(i, display_name(*i), render_target_name("{database}_{table}", "", *i)) for i in (first, second)]
    targets = assign_target_names(wanted)
    assert targets == {first: "dotdb_b.c", second: "dotdb.b_c"}
    assert display_name(*first) == "`dotdb`.`b.c`" and display_name(*second) == "`dotdb.b`.`c`"
    assert display_name("shop", "orders") == "shop.orders"


@pytest.mark.parametrize(
    "template, problem",
    [
        ("{foo}", "found {foo}"),
        ("{database!x}", "unknown conversion !x"),
        ("{database.real}", "as they are"),
        ("{table", "not a valid template"),
        ("{}", "found {}"),
    ],
)
def test_bad_templates_are_found_before_any_name_is_rendered(template, problem):
    assert problem in template_problem(template)
    assert template_problem("{database}-{table}") is None and template_problem("{table!s}") is None


def test_an_exact_name_matches_itself_even_with_glob_characters():
    assert name_matches("br[1]", "br[1]") and not name_matches("br1", "br[1]x")
    assert name_matches("br1", "br[1]")  # still a glob for other names
    assert name_matches("shop_eu", "shop_*") and not name_matches("shop", "shop_*")


def test_path_components_stand_for_one_name_each():
    names = ["a/b", "a%2Fb", "..", ".", "50%off", "naïve x", "a\\b", "plain"]
    components = [path_component(n) for n in names]
    assert len(set(components)) == len(names)
    assert all("/" not in c and c not in (".", "..") for c in components)
    assert path_component("plain") == "plain" and path_component("naïve x") == "naïve x"
