"""Driver side: which partitions of a table finished, as Spark itself decided.

Each task adds its partition's stats to a list accumulator when its rows are written.
Spark merges a task's accumulator updates on the driver only when the task succeeded
(once per partition), so a task whose read failed on the JVM side after the Python loop
saw its input end contributes nothing. The checkpointer copies what arrived into the
state every second, so a driver killed mid-table loses at most that second.
"""

import threading
from typing import Dict, List, Tuple

from jobs.progress import Every

Identity = Tuple[str, str]


class _ListParam:
    """AccumulatorParam for a list of stats dicts (picklable: a module-level class)."""

    def zero(self, value):
        return []

    def addInPlace(self, value1, value2):
        value1.extend(value2)
        return value1


class PartitionLog:
    """The stats of a table's finished partitions, deduplicated by partition number."""

    def __init__(self, spark_context):
        self.accumulator = spark_context.accumulator([], _ListParam())

    def finished(self) -> Dict[int, Dict]:
        return {part["partition"]: part for part in list(self.accumulator.value)}


class Checkpointer:
    """Records newly finished partitions of every running table in the state, every second."""

    def __init__(self, state, interval_seconds: float = 1.0):
        self.state = state
        self._tables: Dict[Identity, Tuple[PartitionLog, set]] = {}
        self._lock = threading.Lock()
        self._ticker = Every(interval_seconds, self._record_all, "checkpoint")

    def start(self) -> "Checkpointer":
        self._ticker.start()
        return self

    def stop(self) -> None:
        self._ticker.stop(wait=True)

    def track(self, identity: Identity, log: PartitionLog) -> None:
        with self._lock:
            self._tables[identity] = (log, set())

    def flush(self, identity: Identity) -> None:
        """Record what has arrived and stop tracking the table (called when its job has ended)."""
        self._record(identity)
        with self._lock:
            self._tables.pop(identity, None)

    def _record(self, identity: Identity) -> None:
        with self._lock:
            tracked = self._tables.get(identity)
            if tracked is None:
                return
            log, recorded = tracked
            new: List[Dict] = [p for n, p in log.finished().items() if n not in recorded]
            recorded.update(p["partition"] for p in new)
        if new:
            self.state.record_partitions(identity, new)

    def _record_all(self) -> None:
        with self._lock:
            identities = list(self._tables)
        for identity in identities:
            self._record(identity)
