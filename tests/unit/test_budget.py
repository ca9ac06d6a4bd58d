from jobs.dynamodb.tables import provisioned_wcu
from mapping.budget import plan_write_rate, task_write_rate


def test_provisioned_tables_get_their_share_of_wcu():
    description = {
        "BillingModeSummary": {"BillingMode": "PROVISIONED"},
        "ProvisionedThroughput": {"WriteCapacityUnits": 1000},
    }
    assert plan_write_rate(provisioned_wcu(description), 0.5, 4000).ceiling == 500


def test_on_demand_tables_get_the_configured_target():
    description = {
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
        "ProvisionedThroughput": {"WriteCapacityUnits": 0},
    }
    assert provisioned_wcu(description) is None
    assert plan_write_rate(None, 0.5, 4000).ceiling == 4000


def test_budget_is_split_over_concurrent_tasks_only():
    assert task_write_rate(500, partitions=10, task_slots=2) == 250
    assert task_write_rate(500, partitions=1, task_slots=8) == 500  # one partition: all of it
    assert task_write_rate(0.5, partitions=4, task_slots=4) == 1.0  # never below 1 WCU/s


def test_write_rate_rule():
    provisioned = plan_write_rate(1000, 0.5, 4000, target_wcu=20000)
    assert (provisioned.start, provisioned.ceiling) == (500, 500)
    assert provisioned.reason == "provisioned 1000 WCU x write_percent 0.5"
    plain = plan_write_rate(None, 0.5, 4000)
    assert (plain.start, plain.ceiling, plain.adaptive) == (4000, 4000, False)
    warm = plan_write_rate(None, 0.5, 4000, target_wcu=20000, warm_wcu=20000)
    assert (warm.start, warm.ceiling) == (20000, 20000)
    climbing = plan_write_rate(None, 0.5, 4000, target_wcu=20000, warm_wcu=4000)
    assert (climbing.start, climbing.ceiling, climbing.adaptive) == (4000, 20000, True)
    assert climbing.reason == "on-demand from 4000 climbing to target_wcu 20000 while not throttled"


def test_few_hash_values_cap_the_rate_and_the_plan_says_so():
    from mapping.budget import plan_write_rate

    capped = plan_write_rate(None, 0.5, 4000, target_wcu=20000, hash_values=3, partition_key_wcu=1000)
    assert (capped.start, capped.ceiling) == (3000, 3000)
    assert capped.reason.endswith("capped at 3000 WCU/s: 3 HASH key value(s) x 1000 WCU/s per value")
    enough = plan_write_rate(None, 0.5, 4000, hash_values=5)  # 5 x 1000 >= 4000: no cap
    assert (enough.ceiling, "capped" in enough.reason) == (4000, False)
