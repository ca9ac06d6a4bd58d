import pytest

from mapping.names import (NameCollision, assign_target_names, is_valid_table_name, render_target_name,
                           sanitize_table_name)


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
    targets = assign_target_names([("d.a b", "d_a b"), ("d.a$b", "d_a$b"), ("d.a_b", "d_a_b")])
    assert len(set(targets.values())) == 3
    assert targets["d.a_b"] == "d_a_b"


def test_two_tables_with_one_target_are_refused():
    with pytest.raises(NameCollision, match="d.x and e.y both map"):
        assign_target_names([("d.x", "same"), ("e.y", "same")])
