"""The resume state: which tables and partitions are finished.

<state>/manifest.json (driver): per table its status and the exact partition predicates
used, since a rerun must read the same partitions (the split samples keys at random).
<state>/parts/<target>/part-NNNNN.done (executors): one marker per partition whose
items were all written.
"""
import json
import threading
from typing import Dict, List, Optional, Set

from jobs import storage
from mapping.partitioning import Partitioning

LOADING = "loading"
DONE = "done"


def marker_folder(state_path: str, target: str) -> str:
    return storage.join(state_path, "parts", target)


def marker_name(partition: int) -> str:
    return f"part-{partition:05d}.done"


class State:
    def __init__(self, path: str, tables: Optional[Dict] = None):
        self.path = path
        self.tables: Dict[str, Dict] = tables or {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str) -> "State":
        manifest = storage.join(path, "manifest.json")
        if not storage.exists(manifest):
            return cls(path)
        return cls(path, json.loads(storage.read_text(manifest)).get("tables", {}))

    def save(self) -> None:
        with self._lock:  # tables finish concurrently: one writer at a time
            text = json.dumps({"tables": self.tables}, indent=2, ensure_ascii=False)
            storage.write_text(storage.join(self.path, "manifest.json"), text)

    def is_done(self, table: str) -> bool:
        return self.tables.get(table, {}).get("status") == DONE

    def saved_partitioning(self, table: str) -> Optional[Partitioning]:
        entry = self.tables.get(table)
        if not entry or "predicates" not in entry:
            return None
        return Partitioning(entry["strategy"], entry["column_sql"], tuple(entry["predicates"]),
                            entry["description"])

    def finished_partitions(self, target: str) -> Set[int]:
        names = storage.list_names(marker_folder(self.path, target))
        return {int(n[len("part-"):-len(".done")]) for n in names if n.startswith("part-") and n.endswith(".done")}

    def start_table(self, table: str, target: str, partitioning: Partitioning, fresh: bool) -> None:
        if fresh:
            storage.remove_all(marker_folder(self.path, target))
        with self._lock:
            self.tables[table] = {"status": LOADING, "target": target, "strategy": partitioning.strategy,
                                  "column_sql": partitioning.column_sql,
                                  "predicates": list(partitioning.predicates),
                                  "description": partitioning.description}
        self.save()

    def finish_table(self, table: str) -> None:
        with self._lock:
            self.tables[table]["status"] = DONE
        self.save()


def remaining(partitioning: Partitioning, finished: Set[int]) -> List[int]:
    """Indices of the partitions still to load (a single-partition read is index 0)."""
    count = max(1, len(partitioning.predicates))
    return [i for i in range(count) if i not in finished]
