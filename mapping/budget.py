"""How much each Spark task may write per second to one DynamoDB table."""
from typing import Optional


def table_write_rate(provisioned_wcu: Optional[int], write_percent: float, on_demand_wcu: float) -> float:
    """The table's budget in WCU/s: a share of provisioned capacity, or the on-demand target."""
    if provisioned_wcu:
        return provisioned_wcu * write_percent
    return float(on_demand_wcu)


def task_write_rate(table_rate: float, partitions: int, task_slots: int) -> float:
    """The table's budget split over the tasks that can write to it at the same time."""
    concurrent = max(1, min(partitions, task_slots))
    return max(1.0, table_rate / concurrent)
