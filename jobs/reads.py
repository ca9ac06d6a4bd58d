"""The JDBC reads a run holds open on the source at once, across all its tables.

Bounded only when the cluster has more task slots than mysql.max_concurrent_reads: below
that, Spark never runs more tasks than slots, and so never more reads. A step that reads
takes slots for as long as its Spark job runs.
"""

import contextlib
import threading
from typing import Any, Dict, Iterator, Optional, Tuple

from mapping.limits import read_bound


class ReadSlots:
    def __init__(self, bound: int):
        self.bound = bound
        self._free = bound
        self._changed = threading.Condition()
        self.peak = 0  # the most slots held at once in this run

    @contextlib.contextmanager
    def take(self, wanted: int = 1) -> Iterator[int]:
        """At least one slot (waiting for it) and up to `wanted` while they are free; yields
        how many were granted and gives them back on exit."""
        with self._changed:
            self._changed.wait_for(lambda: self._free > 0)
            granted = min(max(1, wanted), self._free)
            self._free -= granted
            self.peak = max(self.peak, self.bound - self._free)
        try:
            yield granted
        finally:
            with self._changed:
                self._free += granted
                self._changed.notify_all()


def plan_reads(
    configured: int, limits: Tuple[int, int, int], task_slots: int
) -> Tuple[Optional[ReadSlots], Dict[str, Any]]:
    """The run's read slots (None when the task slots are within the bound) and what the
    plan and report say of them. limits: the server's (max_connections, connected,
    max_user_connections)."""
    bound, why = read_bound(configured, *limits)
    bounded = task_slots > bound
    summary = f"at most {bound} JDBC reads open at once ({why}); " + (
        f"the cluster's {task_slots} task slots are more: each table's reads take turns"
        if bounded
        else f"the cluster's {task_slots} task slots are within it"
    )
    return (ReadSlots(bound) if bounded else None), {
        "bound": bound,
        "reason": why,
        "task_slots": task_slots,
        "bounded": bounded,
        "summary": summary,
    }
