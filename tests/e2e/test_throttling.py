"""Under a 500 WCU budget with 30% of every batch unprocessed, every row lands exactly
once and the job consumes 80-100% of the budget (proxy in front of dynalite).

Rows are ~2.5 KB, so each item costs 3 WCU: the budget binds at ~170 items/s, well
below what this 2-core machine can push through proxy + dynalite (~500 items/s)."""

import json
import os
import urllib.request

import pytest

from tests.e2e.stack import dynamo_items, run_job, throttle_proxy

BUDGET_WCU = int(os.environ.get("PROBE_WCU", "500"))
ROWS = 3000
WCU_PER_ITEM = 3


@pytest.fixture(scope="module")
def proxy(stack):
    with throttle_proxy(stack, "--wcu", str(BUDGET_WCU), "--unprocessed", "0.3") as url:
        yield url


def test_every_row_once_within_the_budget(stack, proxy, tmp_path):
    stack.fresh_database(
        "throttle_db",
        "CREATE TABLE items (id INT PRIMARY KEY, payload VARCHAR(3000))",
        rows={"items": [(i, f"{i:08d}-" + "p" * 2500) for i in range(ROWS)]},
    )
    run = run_job(
        stack,
        [
            "--database",
            "throttle_db",
            "--dynamodb-endpoint",
            proxy,
            "--rows-per-partition",
            "375",
            "--set",
            f"dynamodb.on_demand_wcu={BUDGET_WCU}",
        ],
        tmp_path,
    )
    assert run.code == 0, run.output[-3000:]
    result = run.table("throttle_db.items")
    assert result["rows_read"] == result["items_written"] == ROWS
    assert result["retried_items"] > ROWS * 0.2  # the proxy really held items back
    progress = [line for line in run.output.splitlines() if "progress throttle_db.items:" in line]
    assert progress and "items/s, ETA" in progress[-1]  # logged while the table loads

    items = dynamo_items(stack.dynamodb(), "throttle_db_items")
    assert len(items) == ROWS and len({i["id"] for i in items}) == ROWS

    with urllib.request.urlopen(proxy + "/stats") as response:
        stats = json.load(response)["throttle_db_items"]
    assert stats["consumed"] == ROWS * WCU_PER_ITEM  # each item charged once, by size
    rate = stats["consumed"] / (stats["last"] - stats["first"])
    print(
        f"consumed {stats['consumed']} WCU at {rate:.0f} WCU/s; throttled {stats['throttled']}, "
        f"unprocessed {stats['unprocessed']}; per second {stats['per_second']}"
    )
    # The proxy throttles every call over its budget: a count, not a clock, says the job kept to it.
    # A job that ignored the budget (~1,500 WCU/s here against 500) would be throttled on most
    # calls; one that keeps to it still sees a few, since a busy 2-core machine delivers its
    # calls to the proxy in bursts (CI measured 4 of 196). (The rate itself: make bench.)
    assert stats["throttled"] <= 0.05 * stats["calls"]
