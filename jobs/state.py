"""The resume state: what an earlier run finished, tied to the DynamoDB table it wrote into.

<state>/manifest.json holds one entry per source table, identified by its (database,
table) pair: the target's TableId, the table's status, the exact partition predicates used
(a rerun must read the same partitions: the split samples keys at random), and the stats
of every partition whose Spark task succeeded. Only the driver writes it: partitions are
recorded from the accumulator updates Spark merges for successful tasks, so a task whose
read was cut short on the JVM side (its Python loop simply saw the input end) is never
recorded as finished.
"""

import json
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from jobs import storage
from jobs.errors import ConfigError
from mapping.partitioning import Partitioning

VERSION = 3

LOADING = "loading"  # partitions are being written; recorded partitions are trusted
FAILED = "failed"  # the load failed; recorded partitions are still trusted
WRITTEN = "written"  # every partition written; verification still owed
DONE = "done"  # everything promised held: written, and verified when verification was on
CHECK_FAILED = "check failed"  # verification failed or rows merged: the table is loaded again whole
IMPORTING = "importing"  # import mode: staged, ImportTable started (import_arn); a resume waits for it

NEEDS_RELOAD = "needs reload"  # catch-up met a change it cannot apply (DDL, TRUNCATE, a statement-logged change)

Identity = Tuple[str, str]


class State:
    def __init__(self, path: str, entries: Optional[Dict[Identity, Dict]] = None):
        self.path = path
        self.entries: Dict[Identity, Dict] = entries or {}
        self._lock = threading.Lock()

    @property
    def manifest(self) -> str:
        return storage.join(self.path, "manifest.json")

    @classmethod
    def load(cls, path: str) -> "State":
        state = cls(path)
        if storage.exists(state.manifest):
            text = storage.read_text(state.manifest)
            try:
                body = json.loads(text)
                if body.get("version") == VERSION:  # an older layout is not trusted: tables load again
                    state.entries = {(e["database"], e["table"]): e for e in body.get("tables", [])}
            except (ValueError, AttributeError, KeyError, TypeError) as e:
                raise ConfigError(
                    f"state file {state.manifest} is not a manifest this job wrote ({type(e).__name__}: {e}); "
                    "move it away to start every table anew, or restore it"
                ) from e
        return state

    def save(self) -> None:
        with self._lock:  # tables finish concurrently: one writer at a time
            body = {"version": VERSION, "tables": list(self.entries.values())}
            text = json.dumps(body, indent=2, ensure_ascii=False)
            storage.write_text(self.manifest, text)

    def entry(self, identity: Identity) -> Optional[Dict]:
        return self.entries.get(identity)

    def start_table(
        self,
        identity: Identity,
        target: str,
        table_id: str,
        partitioning: Partitioning,
        finished: Dict[int, Dict],
        source_position: Optional[Dict] = None,
        partitions_trusted: bool = False,
        layout: str = "",
    ) -> None:
        """A table's load starts: its entry anew. The table is equal to the source from its
        source_position on: this run's, or the earlier run's whose partitions it keeps (the
        earliest of the runs whose rows it holds)."""
        with self._lock:
            earlier = self.entries.get(identity) or {}
            if finished and earlier.get("source_position"):
                source_position = earlier["source_position"]
            # A reload after catch-up set the table aside: rows may be gone that the load
            # cannot see, so the table is repaired from verification until it is equal.
            repair_owed = earlier.get("catch_up_status") == NEEDS_RELOAD or bool(earlier.get("repair_owed"))
            self.entries[identity] = {
                "source_position": source_position,
                "database": identity[0],
                "table": identity[1],
                "target": target,
                "table_id": table_id,
                "status": LOADING,
                "strategy": partitioning.strategy,
                "split_columns": list(partitioning.split_columns),
                "predicates": list(partitioning.predicates),
                "description": partitioning.description,
                "redistribute": partitioning.redistribute,
                # Whether this run's items map to its read partitions, and the items' layout: a
                # resume trusts finished partitions only when both hold for it as for this run.
                "partitions_trusted": partitions_trusted,
                "layout": layout,
                "finished": {str(k): v for k, v in finished.items()},
            }
            if repair_owed:
                self.entries[identity]["repair_owed"] = True
        self.save()

    def record_partitions(self, identity: Identity, stats: List[Dict]) -> None:
        with self._lock:
            finished = self.entries[identity]["finished"]
            for part in stats:
                finished[str(part["partition"])] = part
        self.save()

    def record_staged(self, identity: Identity, objects: Dict[str, Optional[str]]) -> None:
        """The staging objects this run writes (name -> version: S3 ETag, or None while being
        written): the only objects a later run of the table may delete."""
        with self._lock:
            self.entries[identity]["staged_objects"] = dict(objects)
        self.save()

    def record_import(self, identity: Identity, import_arn: str, staged_items: int) -> None:
        with self._lock:
            self.entries[identity].update(status=IMPORTING, import_arn=import_arn, staged_items=staged_items)
        self.save()

    def bind_table(self, identity: Identity, table_id: str) -> None:
        """An imported table exists only once its import ends: the entry is tied to it then."""
        with self._lock:
            self.entries[identity]["table_id"] = table_id
        self.save()

    def catch_up_from(self, identity: Identity) -> Optional[Dict]:
        """Where a catch-up of this table starts: what catch-up applied last, else its load's position."""
        entry = self.entries.get(identity) or {}
        return entry.get("applied_position") or entry.get("source_position")

    def record_applied(self, identities: List[Identity], position: Dict) -> None:
        """Catch-up applied every change of these tables up to position (one save for all)."""
        with self._lock:
            for identity in identities:  # a table loaded by an older version has no entry yet
                entry = self.entries.setdefault(identity, {"database": identity[0], "table": identity[1]})
                entry["applied_position"] = position
        self.save()

    def mark_needs_reload(self, identity: Identity, reason: str) -> None:
        with self._lock:
            entry = self.entries.setdefault(identity, {"database": identity[0], "table": identity[1]})
            entry.update(catch_up_status=NEEDS_RELOAD, catch_up_error=reason)
        self.save()

    def needs_reload(self, identity: Identity) -> Optional[str]:
        entry = self.entries.get(identity) or {}
        return entry.get("catch_up_error") if entry.get("catch_up_status") == NEEDS_RELOAD else None

    def repair_owed(self, identity: Identity) -> bool:
        return bool((self.entries.get(identity) or {}).get("repair_owed"))

    def set_status(self, identity: Identity, status: str) -> None:
        """A table that failed before its load started (staging refused, a bucket missing) has no
        entry, and gets none: nothing of it was written."""
        with self._lock:
            if identity not in self.entries:
                return
            self.entries[identity]["status"] = status
        self.save()

    def record_verified(self, identity: Identity) -> None:
        """Verification found the table equal to the source: done, and no repair is owed."""
        with self._lock:
            entry = self.entries[identity]
            entry["status"] = DONE
            entry.pop("repair_owed", None)
        self.save()


@dataclass
class ResumePoint:
    """What to do for one table given the state an earlier run left."""

    action: str = "load"  # "load": read what is not finished; "verify": nothing to load; "done": nothing at all
    partitioning: Optional[Partitioning] = None  # the saved split (None: use the new plan's)
    finished: Dict[int, Dict] = field(default_factory=dict)  # partitions trusted as written
    note: str = ""


def resume_point(
    entry: Optional[Dict], target: str, table_id: str, verify: bool, partitions_trusted: bool, layout: str = ""
) -> ResumePoint:
    """Pure rule: an entry is trusted only for the very DynamoDB table it was written into."""
    if entry is None:
        return ResumePoint()
    if entry.get("target") != target or entry.get("table_id") != table_id:
        return ResumePoint(
            "load",
            note=f"DynamoDB table {target} is not the table an earlier run wrote "
            f"(deleted, recreated or renamed since): loading the whole table again",
        )
    status = entry.get("status")
    if status in (DONE, WRITTEN):
        if verify:
            return ResumePoint("verify", note="finished by an earlier run; verified again in full")
        return ResumePoint("done", note="finished by an earlier run")
    if status == CHECK_FAILED:
        return ResumePoint(
            "load", note="an earlier run's check failed (verification or merged rows): loading the whole table again"
        )
    if not partitions_trusted:
        return ResumePoint(
            "load",
            note="an earlier run did not finish; this table is redone whole "
            "(its items are not tied to read partitions)",
        )
    if not entry.get("partitions_trusted"):
        return ResumePoint(
            "load",
            note="an earlier run did not finish, and it wrote this table's items regrouped across its read "
            "partitions (few HASH values spread, or a layout that is not tied to them): redone whole",
        )
    if entry.get("layout") != layout:
        return ResumePoint(
            "load",
            note="an earlier run did not finish, and it wrote items of another layout "
            f"({entry.get('layout') or 'unrecorded'}; now {layout}): redone whole",
        )
    saved = Partitioning(
        entry["strategy"],
        tuple(entry["split_columns"]),
        tuple(entry["predicates"]),
        entry["description"],
        entry.get("redistribute", False),
    )
    finished = {int(k): v for k, v in entry.get("finished", {}).items()}
    note = f"resumed: {len(finished)} partition(s) finished by an earlier run were skipped" if finished else ""
    return ResumePoint("load", saved, finished, note)


def remaining(partitioning: Partitioning, finished) -> List[int]:
    """Indices of the partitions still to load (a single-partition read is index 0)."""
    count = max(1, len(partitioning.predicates))
    return [i for i in range(count) if i not in finished]
