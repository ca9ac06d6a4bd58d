"""How fast the job writes to one DynamoDB table, and how that is split over Spark tasks."""

from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional

NEW_ON_DEMAND_WCU = 4000  # a new on-demand table's warm write throughput (AWS default)


@dataclass(frozen=True)
class WriteRate:
    """A table's write budget in WCU/s: where the load starts, how far it may climb, and why."""

    start: float
    ceiling: float
    reason: str

    @property
    def adaptive(self) -> bool:
        return self.ceiling > self.start

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def plan_write_rate(
    provisioned_wcu: Optional[int],
    write_percent: float,
    on_demand_wcu: float,
    target_wcu: float = 0,
    warm_wcu: Optional[float] = None,
    hash_values: Optional[int] = None,
    partition_key_wcu: float = 1000,
) -> WriteRate:
    """The rule, per table:
    - provisioned: write_capacity x write_percent (target_wcu does not change provisioned capacity);
    - on-demand without a target: on_demand_wcu;
    - on-demand with a target its warm throughput already holds: the target, from the start;
    - otherwise: start at on_demand_wcu (or the warm throughput, if higher) and climb to the
      target while DynamoDB does not throttle (on-demand grows with sustained traffic);
    - then, whatever the mode: a HASH attribute with few values caps the rate at
      values x partition_key_wcu, since each value takes at most that much.
    """
    if provisioned_wcu:
        rate = provisioned_wcu * write_percent
        result = WriteRate(rate, rate, f"provisioned {provisioned_wcu} WCU x write_percent {write_percent:g}")
    elif not target_wcu:
        result = WriteRate(float(on_demand_wcu), float(on_demand_wcu), f"on-demand at on_demand_wcu {on_demand_wcu:g}")
    elif warm_wcu and warm_wcu >= target_wcu:
        result = WriteRate(
            float(target_wcu),
            float(target_wcu),
            f"on-demand at target_wcu {target_wcu:g} (warm throughput {warm_wcu:g} WCU/s)",
        )
    else:
        start = min(float(target_wcu), max(float(on_demand_wcu), float(warm_wcu or 0)))
        result = WriteRate(
            start,
            float(target_wcu),
            f"on-demand from {start:g} climbing to target_wcu {target_wcu:g} while not throttled",
        )
    if hash_values:
        cap = hash_values * partition_key_wcu
        if cap < result.ceiling:
            result = WriteRate(
                min(result.start, cap),
                cap,
                f"{result.reason}; capped at {cap:g} WCU/s: {hash_values} HASH key value(s) x "
                f"{partition_key_wcu:g} WCU/s per value",
            )
    return result


def task_write_rate(table_rate: float, partitions: int, task_slots: int) -> float:
    """The table's budget split over the tasks that can write to it at the same time."""
    concurrent = max(1, min(partitions, task_slots))
    return max(1.0, table_rate / concurrent)


def warm_throughput_request(
    on_demand: bool, target_wcu: float, setting: str, exists: bool, current_warm: Optional[float]
) -> Optional[int]:
    """The WriteUnitsPerSecond to pre-warm a table to, or None. Never asks for less than the
    table has (warm throughput cannot be lowered again, and is billed when raised), never for
    provisioned tables (their capacity is the user's), and never below a new on-demand table's
    default of 4,000 WCU/s."""
    if not on_demand or setting == "none" or target_wcu <= NEW_ON_DEMAND_WCU:
        return None
    if exists and setting != "all":
        return None
    if exists and current_warm is not None and current_warm >= target_wcu:
        return None
    return int(target_wcu)
