"""Catch-up (--catch-up): apply the binlog from a recorded position to the migrated tables.

`runner` drives it (positions, the event loop, the report); `mapping.binlog` batches the
events into transactions; `applier` applies a batch to one table.
"""

from jobs.catchup.runner import check_preconditions, run_catch_up

__all__ = ["check_preconditions", "run_catch_up"]
