from jobs.target.dynamo import provisioned_wcu
from mapping.budget import table_write_rate, task_write_rate


def test_provisioned_tables_get_their_share_of_wcu():
    description = {"BillingModeSummary": {"BillingMode": "PROVISIONED"}, "ProvisionedThroughput": {"WriteCapacityUnits": 1000}}
    assert table_write_rate(provisioned_wcu(description), 0.5, 4000) == 500


def test_on_demand_tables_get_the_configured_target():
    description = {"BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
                   "ProvisionedThroughput": {"WriteCapacityUnits": 0}}
    assert provisioned_wcu(description) is None
    assert table_write_rate(None, 0.5, 4000) == 4000


def test_budget_is_split_over_concurrent_tasks_only():
    assert task_write_rate(500, partitions=10, task_slots=2) == 250
    assert task_write_rate(500, partitions=1, task_slots=8) == 500  # one partition: all of it
    assert task_write_rate(0.5, partitions=4, task_slots=4) == 1.0  # never below 1 WCU/s
