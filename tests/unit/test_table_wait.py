"""Waiting for a table: soon at first (an emulator's table is ACTIVE in milliseconds), then
every second (a region's in seconds); a failure state is never taken for slowness."""

import pytest
from botocore.exceptions import WaiterError

from jobs.dynamodb.tables import QUICK_POLLS, wait_soon_then_steadily


class Waiter:
    """Fails its first `slow_waits` waits as botocore does when the attempts run out."""

    def __init__(self, slow_waits: int, reason: str = "Max attempts exceeded"):
        self.slow_waits, self.reason, self.configs = slow_waits, reason, []

    def wait(self, TableName, WaiterConfig):  # botocore's argument names
        self.configs.append(WaiterConfig)
        if len(self.configs) <= self.slow_waits:
            raise WaiterError(name="TableExists", reason=self.reason, last_response={})


def test_a_table_active_within_a_second_is_seen_at_the_quick_polls():
    waiter = Waiter(slow_waits=0)
    wait_soon_then_steadily(waiter, "db_t", 600)
    assert waiter.configs == [{"Delay": QUICK_POLLS[0], "MaxAttempts": QUICK_POLLS[1]}]


def test_a_slower_table_is_then_polled_every_second_for_the_configured_wait():
    waiter = Waiter(slow_waits=1)
    wait_soon_then_steadily(waiter, "db_t", 600)
    assert waiter.configs[1] == {"Delay": 1, "MaxAttempts": 600}


def test_a_failure_state_is_raised_at_once_not_waited_out():
    waiter = Waiter(slow_waits=1, reason="Waiter encountered a terminal failure state")
    with pytest.raises(WaiterError):
        wait_soon_then_steadily(waiter, "db_t", 600)
    assert len(waiter.configs) == 1


def test_a_table_never_active_raises_after_both_waits():
    waiter = Waiter(slow_waits=2)
    with pytest.raises(WaiterError):
        wait_soon_then_steadily(waiter, "db_t", 600)
    assert len(waiter.configs) == 2
