"""What the follower has applied, as live verification sees it from its own thread: the position
everything before which is in DynamoDB, the item keys it wrote and for which change, the last
row change it saw, and the repairs verification asks of it (applied by the follower itself, in
order with its own writes)."""

import threading
import time
from typing import Dict, List, Optional, Set, Tuple

from jobs.dynamodb.writer import BatchWriter
from mapping.binlog import Position, TableName
from mapping.live_verify import key_text

RenderedRow = Dict[str, Optional[str]]


class FollowerView:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.through: Optional[Position] = None  # everything before it is written (settled)
        self.last_change: Optional[Position] = None  # the last row change of a selected table seen
        self.last_change_at = time.monotonic()
        self.lag_seconds = 0.0
        self.stopped = False
        self.repairs_applied: Dict[TableName, int] = {}  # repairs the follower has written (and flushed)
        # Repairs write at the follower's position, which a fenced source no longer moves: they
        # are ordered by their own count. A comparison notes the repairs done before it reads; a
        # key a later repair wrote (begun, maybe not done, then) is compared again.
        self.repairs_begun = 0
        self.repairs_done = 0
        self._repaired: Dict[TableName, Dict[str, int]] = {}  # key -> the repair that wrote it
        self.position: Optional[Position] = None  # of the batch being applied: its writes are touches at it
        self._touched: Dict[TableName, Dict[str, Optional[Position]]] = {}
        self._repairs: List[Tuple[TableName, List[RenderedRow]]] = []

    # ---- the follower's side ----

    def settled(self, position: Optional[Position]) -> None:
        with self._changed:
            if position is not None and (self.through is None or position > self.through):
                self.through = position
            self._changed.notify_all()

    def changed(self, position: Position) -> None:
        self.last_change, self.last_change_at = position, time.monotonic()

    def touch(self, table: TableName, key: str) -> None:
        """The follower wrote this item key for a change at self.position (None: unknown, after all)."""
        with self._changed:
            self._touched.setdefault(table, {})[key] = self.position
            if self.repairs_begun > self.repairs_done:  # a repair's write
                self._repaired.setdefault(table, {})[key] = self.repairs_begun

    def stop(self) -> None:
        with self._changed:
            self.stopped = True
            self._changed.notify_all()

    def take_repairs(self) -> List[Tuple[TableName, List[RenderedRow]]]:
        with self._changed:
            repairs, self._repairs = self._repairs, []
            return repairs

    def begin_repairs(self) -> None:
        """The writes until repaired() are repairs, later than every comparison begun before."""
        with self._changed:
            self.repairs_begun += 1

    def repaired(self, tables: List[TableName]) -> None:
        """The repairs begun are written (and flushed)."""
        with self._changed:
            self.repairs_done = self.repairs_begun
            for table in tables:
                self.repairs_applied[table] = self.repairs_applied.get(table, 0) + 1
            self._changed.notify_all()

    # ---- live verification's side ----

    def touched_after(self, table: TableName, after: Optional[Position]) -> Set[str]:
        with self._changed:
            keys = self._touched.get(table, {})
            return {k for k, at in keys.items() if after is None or at is None or at > after}

    def was_touched_after(
        self, table: TableName, key: str, after: Position, repairs_done: Optional[int] = None
    ) -> bool:
        """Whether the follower wrote the key for a change after `after`, or (repairs_done: the
        repairs done when the comparison began) repaired it in a repair not done by then."""
        with self._changed:
            at = self._touched.get(table, {}).get(key, after)
            repaired = self._repaired.get(table, {}).get(key, 0)
        return at is None or at > after or (repairs_done is not None and repaired > repairs_done)

    def forget_through(self, table: TableName, position: Position) -> None:
        """Touches at or before a position every later comparison reads past are not needed again."""
        with self._changed:
            keys = self._touched.get(table, {})
            for key in [k for k, at in keys.items() if at is not None and at <= position]:
                del keys[key]

    def wait_applied(self, position: Position, timeout: float) -> bool:
        """Until the follower has applied through `position` (its settled position moves on with
        each batch written, and with the server's heartbeats while nothing is pending). False
        when the follower stopped or the time ran out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self.stopped:
                if self.through is not None and self.through >= position:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 1.0))
        return False

    def pause(self, seconds: float) -> None:
        """A pause that the follower's stop ends at once."""
        with self._changed:
            if not self.stopped:
                self._changed.wait(seconds)

    def ask_repair(self, table: TableName, rows: List[RenderedRow]) -> None:
        with self._changed:
            self._repairs.append((table, rows))


class RecordingWriter:
    """A table's BatchWriter that tells the view each item key it writes."""

    def __init__(self, writer: BatchWriter, view: FollowerView, table: TableName, key_attributes: Tuple[str, ...]):
        self.writer, self.view, self.table, self.key_attributes = writer, view, table, key_attributes

    def put(self, item: dict, size_bytes: int, units: int) -> None:
        self.view.touch(self.table, self._key(item))
        self.writer.put(item, size_bytes, units)

    def delete(self, key: dict) -> None:
        self.view.touch(self.table, self._key(key))
        self.writer.delete(key)

    def _key(self, item: dict) -> str:
        return key_text([item[a]["S"] for a in self.key_attributes])

    def __getattr__(self, name: str):
        return getattr(self.writer, name)
