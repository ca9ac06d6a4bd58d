import pytest

from mapping.cost import IMPORT, WRITE, Prices, average_item_bytes, choose_load_mode, estimate

PRICES = Prices(on_demand_usd_per_million_writes=0.625, provisioned_usd_per_wcu_hour=0.00065, import_usd_per_gb=0.15)


def test_average_item_is_names_plus_the_average_row_capped_by_the_declared_maximum():
    assert average_item_bytes(20, 1000, 180.2) == 201
    assert average_item_bytes(20, 100, 180) == 120  # declared types cannot hold more
    assert average_item_bytes(20, 100, 0) == 120  # no statistics: the declared maximum


def test_the_issue_example_500_gb_of_200_byte_rows():
    e = estimate(2_500_000_000, 200, 5, 4000, PRICES)
    assert e.write_units == 2_500_000_000
    assert e.write_usd == pytest.approx(1562.5)
    assert e.write_seconds == pytest.approx(625_000)  # over 7 days at a new table's 4,000 WCU/s
    assert e.import_bytes == 2_500_000_000 * (200 + 12 + 5 * 12)
    assert e.import_usd == pytest.approx(e.import_bytes / 1024**3 * 0.15)


def test_write_units_are_started_kilobytes_per_item():
    assert estimate(10, 1024, 1, 100, PRICES).write_units == 10
    assert estimate(10, 1025, 1, 100, PRICES).write_units == 20


def test_provisioned_writes_cost_capacity_hours():
    e = estimate(3_600_000, 100, 2, 500, PRICES, provisioned_wcu=1000)
    assert e.write_seconds == pytest.approx(7200)
    assert e.write_usd == pytest.approx(1000 * 0.00065 * 2)


def test_choice_per_mode():
    big = estimate(1_000_000, 200, 5, 4000, PRICES)
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
