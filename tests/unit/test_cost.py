import pytest

from mapping.cost import (
    IMPORT,
    WRITE,
    Prices,
    choose_load_mode,
    declared_sizes,
    estimate,
    measure_items,
)
from mapping.items import ItemLayout, build_item, import_line, to_wire

PRICES = Prices(on_demand_usd_per_million_writes=0.625, provisioned_usd_per_wcu_hour=0.00065, import_usd_per_gb=0.15)
LAYOUT = ItemLayout(("id", "body"), "id", None, ("id",))


def sized(item_bytes: int, attributes: int = 1):
    return declared_sizes(0, item_bytes, 0, attributes)


def test_declared_sizes_are_names_plus_the_average_row_capped_by_the_declared_maximum():
    assert declared_sizes(20, 1000, 180.2, 2).item_bytes == 201
    assert declared_sizes(20, 100, 180, 2).item_bytes == 120  # declared types cannot hold more
    assert declared_sizes(20, 100, 0, 2).item_bytes == 120  # no statistics: the declared maximum
    assert declared_sizes(20, 100, 0, 2).basis == "the declared types"


def test_write_units_are_averaged_per_item_not_taken_from_the_average_item():
    """Issue 22, defect 6: rows of 100 B and 2 KB cost 1 and 2 WRU; an average item of about
    1 KB would say 1 or 2 for both."""
    rows = [("1", "x" * 100), ("2", "y" * 2000)] * 50
    sizes = measure_items(rows, LAYOUT)
    assert sizes is not None and sizes.basis == "a sample of 100 rows"
    assert sizes.write_units == 1.5
    assert estimate(1000, sizes, 4000, PRICES).write_units == 1500
    assert sizes.item_bytes == pytest.approx((2 + 1 + 4 + 100 + 2 + 1 + 4 + 2000) / 2)


def test_sampled_import_bytes_are_the_staged_lines_exactly():
    rows = [("1", "é" * 10), ("2", None)]
    lines = [import_line(to_wire(build_item(r, LAYOUT)[0])) for r in rows]
    sizes = measure_items(rows, LAYOUT)
    assert sizes is not None
    assert estimate(2, sizes, 100, PRICES).import_bytes == sum(len(line.encode("utf-8")) + 1 for line in lines)


def test_rows_dynamodb_refuses_are_not_sized_and_no_rows_is_no_measure():
    assert measure_items([], LAYOUT) is None
    assert measure_items([(None, "x")], LAYOUT) is None  # a NULL key: a reject, not an item


def test_the_issue_example_500_gb_of_200_byte_rows():
    e = estimate(2_500_000_000, sized(200, 5), 4000, PRICES)
    assert e.write_units == 2_500_000_000
    assert e.write_usd == pytest.approx(1562.5)
    assert e.write_seconds == pytest.approx(625_000)  # over 7 days at a new table's 4,000 WCU/s
    assert e.import_bytes == 2_500_000_000 * (200 + 12 + 5 * 12)
    assert e.import_usd == pytest.approx(e.import_bytes / 1024**3 * 0.15)


def test_write_units_are_started_kilobytes_per_item():
    assert estimate(10, sized(1024), 100, PRICES).write_units == 10
    assert estimate(10, sized(1025), 100, PRICES).write_units == 20


def test_provisioned_writes_cost_capacity_hours():
    e = estimate(3_600_000, sized(100, 2), 500, PRICES, provisioned_wcu=1000)
    assert e.write_seconds == pytest.approx(7200)
    assert e.write_usd == pytest.approx(1000 * 0.00065 * 2)


def test_choice_per_mode():
    big = estimate(1_000_000, sized(200, 5), 4000, PRICES)
    assert choose_load_mode("write", False, big, 2.0, 100)[0] == WRITE
    assert choose_load_mode("import", True, big, 2.0, 100)[0] == IMPORT  # the caller refuses or resumes
    assert choose_load_mode("auto", True, big, 2.0, 100) == (
        WRITE,
        "the DynamoDB table exists and ImportTable only creates tables",
    )
    assert choose_load_mode("auto", False, big, 2.0, 100)[0] == IMPORT
    assert (
        choose_load_mode("auto", False, big, 2.0, 2_000_000)[1]
        == "1000000 estimated rows, under dynamodb.import_min_rows (2000000)"
    )
    mode, reason = choose_load_mode("auto", False, big, 1000.0, 100)  # saving demanded beyond what import gives
    assert mode == WRITE and "saves less than dynamodb.import_min_saving (1000x)" in reason
