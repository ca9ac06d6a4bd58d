"""The JDBC reads a run holds open on the source at once, across all its tables.

Bounded only when the cluster has more task slots than mysql.max_concurrent_reads: below
that, Spark never runs more tasks than slots, and so never more reads. A step that reads
takes slots for as long as its Spark job runs.
"""

import contextlib
import logging
import threading
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, TypeVar

from jobs.errors import too_many_connections
from jobs.mysql.connection import retry_refused
from mapping.limits import read_bound

log = logging.getLogger("mysql2dynamodb")
T = TypeVar("T")


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


class SourceReads:
    """What a run's Spark jobs may ask of the source: its read slots (when the cluster has more
    task slots than the bound) and, once the source refused a connection, a cap halved at
    each refusal. One per run, shared by every table's steps, write and import mode alike."""

    def __init__(self, slots: Optional[ReadSlots], task_slots: int, retry_seconds: float):
        self.slots = slots  # None: the cluster's task slots are within the source's read bound
        self.task_slots = task_slots
        self.retry_seconds = retry_seconds
        self.cap = 0  # after a refusal: reads asked at once at most (0: none of our own)
        self._cap_lock = threading.Lock()

    @contextlib.contextmanager
    def reading(self, partitions: int) -> Iterator[Optional[int]]:
        """Read slots for one Spark job over `partitions` read partitions: how many tasks may
        read at once (None: no bound applies)."""
        cap = self.cap
        if self.slots is None:
            yield cap or None
            return
        with self.slots.take(min(partitions, self.task_slots)) as granted:
            yield min(granted, cap) if cap else granted

    def in_turns(self) -> Optional[ReadSlots]:
        """The slots partitions take one job each, when reads are bounded or capped."""
        return self.slots or (ReadSlots(self.cap) if self.cap else None)

    def refused_again(self, action: Callable[[], T], what: str) -> T:
        """action(), waited out while the source answers "Too many connections"; each refusal
        lowers the cap."""

        def attempt() -> T:
            try:
                return action()
            except Exception as e:
                if too_many_connections(e):
                    self.lower_cap(what)
                raise

        return retry_refused(attempt, what, self.retry_seconds)

    def lower_cap(self, what: str) -> int:
        with self._cap_lock:
            asked = self.cap or (self.slots.bound if self.slots else self.task_slots)
            self.cap = max(1, asked // 2)
        log.warning("%s: the source refused a connection; at most %d read(s) at once from now on", what, self.cap)
        return self.cap


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
