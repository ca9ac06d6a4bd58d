"""The binlog as the catch-up sees it: positions, one class per event kind, and the batcher.

Pure: the MySQL side (`jobs.mysql.binlog`) turns the replication library's events into
these, and the catch-up applies what the batcher hands it. The batcher decides where
transactions end, which changes are gathered for which table, when a batch is due, and
the position a batch makes safe to save: never one inside a transaction.
"""

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

TableName = Tuple[str, str]  # (database, table)
RowImage = Mapping[str, object]


@dataclass(frozen=True, order=True)
class Position:
    file: str
    pos: int

    def __str__(self) -> str:
        return f"{self.file}:{self.pos}"

    def as_dict(self) -> Dict[str, object]:
        return {"binlog_file": self.file, "binlog_position": self.pos}


@dataclass(frozen=True)
class RowsChanged:
    """A row event: each change's images (an update's before and after image, in that order)."""

    position: Position
    table: TableName
    images: Tuple[RowImage, ...]
    changes: int
    timestamp: float
    kind: str = ""  # "insert", "update" or "delete"

    def before_and_after(self) -> List[Tuple[Optional[RowImage], Optional[RowImage]]]:
        """Each changed row as (before, after): None before an insert, None after a delete."""
        if self.kind == "update":
            return [(self.images[i], self.images[i + 1]) for i in range(0, len(self.images), 2)]
        if self.kind == "delete":
            return [(image, None) for image in self.images]
        return [(None, image) for image in self.images]


@dataclass(frozen=True)
class TransactionCommitted:
    """An XID event: a transactional engine's commit."""

    position: Position
    timestamp: float


@dataclass(frozen=True)
class Statement:
    """A query event: BEGIN, COMMIT, SAVEPOINT, XA ..., DDL, or a statement-logged change."""

    position: Position
    query: str
    schema: str
    timestamp: float


@dataclass(frozen=True)
class Rotated:
    """The server moved on to the next binlog file (between transactions)."""

    position: Position


@dataclass(frozen=True)
class Heartbeat:
    """The server has nothing newer: the stream is at its live edge."""

    position: Position


Event = Union[RowsChanged, TransactionCommitted, Statement, Rotated, Heartbeat]


def _text(query: str) -> str:
    """The statement without leading comments or a trailing semicolon."""
    text = query.strip()
    while text.startswith("/*"):
        end = text.find("*/")
        text = text[end + 2 :].lstrip() if end >= 0 else ""
    return text.rstrip("; \t\r\n")


def _words(query: str) -> List[str]:
    """The statement's leading words, upper case."""
    return _text(query).upper().split()[:4]


def ends_transaction(query: str) -> bool:
    """COMMIT (a non-transactional engine's commit is logged as this query) and ROLLBACK (what
    was logged is what happened). Not SAVEPOINT, RELEASE SAVEPOINT or ROLLBACK TO; XA is apart."""
    words = _words(query)
    return bool(words) and (words[0] == "COMMIT" or (words[0] == "ROLLBACK" and "TO" not in words[1:]))


def opens_transaction(query: str) -> bool:
    words = _words(query)
    return bool(words) and (words[0] == "BEGIN" or words[:2] == ["START", "TRANSACTION"])


def marks_savepoint(query: str) -> bool:
    """Statements that only mark a point inside the open transaction."""
    words = _words(query)
    return bool(words) and (words[0] in ("SAVEPOINT", "RELEASE") or (words[0] == "ROLLBACK" and "TO" in words[1:]))


def xa_statement(query: str) -> Optional[Tuple[str, str]]:
    """(verb, xid) of an XA statement: START/BEGIN, END, PREPARE, COMMIT, ROLLBACK, RECOVER.
    The xid in one canonical form (`xid_text`), however the statement spelt it."""
    words = _words(query)
    if len(words) < 2 or words[0] != "XA":
        return None
    rest = _text(query).split(None, 2)
    xid = rest[2] if len(rest) > 2 else ""
    for suffix in (" ONE PHASE", " SUSPEND", " FOR MIGRATE", " JOIN", " RESUME"):
        if xid.upper().endswith(suffix):
            xid = xid[: -len(suffix)].rstrip()
    return words[1], canonical_xid(xid)


def xid_text(gtrid: bytes, bqual: bytes = b"", format_id: int = 1) -> str:
    """An XA transaction's id as the server logs it in `XA COMMIT` / `XA ROLLBACK`: X'..',X'..',N."""
    return f"X'{gtrid.hex()}',X'{bqual.hex()}',{format_id}"


_XID_PART = re.compile(r"\s*(?:[xX]'([0-9a-fA-F]*)'|0x([0-9a-fA-F]+)|'((?:[^'\\]|''|\\.)*)'|(-?\d+))\s*(?:,|$)")


def canonical_xid(text: str) -> str:
    """An xid as written in a statement ('abc', 'abc','def',7, X'616263',X'',1, 0x616263) in the
    form `xid_text` gives, so that a prepare event and its later XA COMMIT name it alike. Text
    it cannot parse is kept as it is."""
    parts: List[Any] = []
    at = 0
    while at < len(text):
        match = _XID_PART.match(text, at)
        if match is None or match.end() == at:
            return text
        hex_literal, hex_number, string, number = match.groups()
        if hex_literal is not None or hex_number is not None:
            parts.append(bytes.fromhex(hex_literal if hex_literal is not None else hex_number))
        elif string is not None:
            parts.append(re.sub(r"''|\\(.)", lambda m: m.group(1) or "'", string).encode("utf-8"))
        else:
            parts.append(int(number))
        at = match.end()
    if not 1 <= len(parts) <= 3:
        return text
    gtrid, bqual, format_id = parts + [b"", b"", 1][len(parts) :]  # bqual '' and formatID 1 by default
    if not (isinstance(gtrid, bytes) and isinstance(bqual, bytes) and isinstance(format_id, int)):
        return text
    return xid_text(gtrid, bqual, format_id)


@dataclass
class Batch:
    """Row images gathered per table, and the position saved once they are applied."""

    images: Dict[TableName, List[RowImage]] = field(default_factory=dict)
    changes: Dict[TableName, int] = field(default_factory=dict)
    # Deleted and updated rows of tables that foreign keys with cascading actions reference:
    # the changes the server makes to their children are not logged, and are derived from these.
    parent_changes: Dict[TableName, List[Tuple[RowImage, Optional[RowImage]]]] = field(default_factory=dict)
    through: Optional[Position] = None
    ends_at: Optional[Position] = None  # the last commit gathered: its changes are read back as of here
    last_commit_timestamp: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.changes.values())

    @property
    def pending(self) -> int:
        """Row changes to act on: the selected tables' and the referenced parents'."""
        return self.rows + sum(len(c) for c in self.parent_changes.values())

    def add(self, event: RowsChanged) -> None:
        self.images.setdefault(event.table, []).extend(event.images)
        self.changes[event.table] = self.changes.get(event.table, 0) + event.changes

    def add_parent_change(self, event: RowsChanged) -> None:
        pairs = [(before, after) for before, after in event.before_and_after() if before is not None]
        if pairs:
            self.parent_changes.setdefault(event.table, []).extend(pairs)

    def drop(self, table: TableName) -> None:
        self.images.pop(table, None)
        self.changes.pop(table, None)

    def absorb(self, other: "Batch") -> None:
        if other.ends_at is not None and (self.ends_at is None or other.ends_at > self.ends_at):
            self.ends_at = other.ends_at
        for table, images in other.images.items():
            self.images.setdefault(table, []).extend(images)
            self.changes[table] = self.changes.get(table, 0) + other.changes.get(table, 0)
        for table, pairs in other.parent_changes.items():
            self.parent_changes.setdefault(table, []).extend(pairs)


@dataclass(frozen=True)
class ApplyBatch:
    batch: Batch


@dataclass(frozen=True)
class TableNeedsReload:
    """A statement the catch-up cannot apply (DDL, TRUNCATE, a statement-logged change) may have
    changed these migrated tables: they leave the catch-up; the others go on."""

    tables: Tuple[TableName, ...]
    statement: Statement


Action = Union[ApplyBatch, TableNeedsReload]
StatementTables = Callable[[str, str], Sequence[TableName]]  # (query, default schema) -> tables it changes


class Batcher:
    """Gathers the row changes of the selected tables per committed transaction and says when a
    batch is due: batch_rows changes gathered, or max_delay_seconds since the oldest commit
    gathered (the clock is passed in).

    A batch's position is a transaction's end, and never past an XA transaction that is
    prepared but not yet committed (its rows are logged at XA PREPARE, its commit later as
    `XA COMMIT`): a catch-up restarted there reads that transaction again.
    """

    def __init__(
        self,
        tables: Mapping[TableName, Optional[Position]],
        batch_rows: int,
        max_delay_seconds: float,
        statement_tables: StatementTables,
        parents: Sequence[TableName] = (),
    ):
        self.tables = dict(tables)  # each selected table and the position it is applied through
        self.parents = frozenset(parents)  # tables that cascading foreign keys of selected tables reference
        self.batch_rows = batch_rows
        self.max_delay_seconds = max_delay_seconds
        self.statement_tables = statement_tables
        self.committed = Batch()
        self.open = Batch()
        self.in_transaction = False
        self.boundary: Optional[Position] = None
        self.prepared: Dict[str, Tuple[Optional[Position], Batch]] = {}
        self.oldest_commit_at: Optional[float] = None
        self.rows_read = 0

    def start(self, position: Optional[Position]) -> None:
        self.boundary = position

    def feed(self, event: Event, now: float) -> Optional[Action]:
        if isinstance(event, RowsChanged):
            if event.table in self.tables and not self._applied_already(event):
                self.open.add(event)
                self.rows_read += event.changes
            if event.table in self.parents:  # deriving a cascade again re-reads the source: always safe
                self.open.add_parent_change(event)
            return None
        if isinstance(event, TransactionCommitted):
            return self._commit(event.position, event.timestamp, now)
        if isinstance(event, Statement):
            return self._statement(event, now)
        if isinstance(event, Rotated):
            if not self.in_transaction and not self.open.pending:
                self.boundary = event.position
            return None
        if isinstance(event, Heartbeat) and self.idle:
            # nothing more to read: every transaction the server has logged was read whole (the
            # stream's end is one too), so everything up to here is at a transaction's end
            self.boundary = max(event.position, self.boundary) if self.boundary else event.position
        return self.due(now)

    @property
    def idle(self) -> bool:
        return not self.in_transaction and not self.open.pending

    def _statement(self, event: Statement, now: float) -> Optional[Action]:
        xa = xa_statement(event.query)
        if xa is not None:
            return self._xa(xa[0], xa[1], event, now)
        if opens_transaction(event.query):
            self._open()
            return None
        if ends_transaction(event.query):
            return self._commit(event.position, event.timestamp, now)
        if marks_savepoint(event.query):
            return None
        changed = tuple(t for t in self.statement_tables(event.query, event.schema) if t in self.tables)
        if changed:
            for table in changed:
                self.tables.pop(table)
                self.open.drop(table)
            if not self.in_transaction:
                self.boundary = event.position
            return TableNeedsReload(changed, event)
        if not self.in_transaction:  # a statement outside a transaction commits on its own
            return self._commit(event.position, event.timestamp, now)
        return None

    def _applied_already(self, event: RowsChanged) -> bool:
        applied = self.tables[event.table]
        return applied is not None and event.position <= applied

    def _open(self) -> None:
        self.in_transaction = True  # the boundary stays where the transaction began until it ends

    def _xa(self, verb: str, xid: str, event: Statement, now: float) -> Optional[Action]:
        if verb in ("START", "BEGIN"):
            self._open()
        elif verb == "PREPARE":  # logged, not committed: kept until its XA COMMIT or XA ROLLBACK
            # the XA began at the boundary (MariaDB logs no XA START: its GTID event opens the group)
            self.prepared[xid] = (self.boundary, self.open)
            self.open = Batch()
            self.in_transaction = False
            self.boundary = event.position
        elif verb == "COMMIT":
            _, batch = self.prepared.pop(xid, (None, Batch()))
            self.open.absorb(batch)  # a one-phase commit's rows are in the open batch already
            return self._commit(event.position, event.timestamp, now)
        elif verb == "ROLLBACK":
            self.prepared.pop(xid, None)
            self.open = Batch()
            self.in_transaction = False
            self.boundary = event.position
        return None

    def _commit(self, position: Position, timestamp: float, now: float) -> Optional[Action]:
        self.in_transaction = False
        self.committed.absorb(self.open)
        self.committed.ends_at = position
        self.open = Batch()
        self.boundary = position
        self.committed.last_commit_timestamp = timestamp
        if self.committed.pending and self.oldest_commit_at is None:
            self.oldest_commit_at = now
        return self.due(now)

    def due(self, now: float) -> Optional[Action]:
        """A batch, when enough changes or enough time has gathered (also asked while idle)."""
        if not self.committed.pending:
            return None
        waited = now - (self.oldest_commit_at if self.oldest_commit_at is not None else now)
        if self.committed.pending >= self.batch_rows or waited >= self.max_delay_seconds:
            return ApplyBatch(self.take())
        return None

    def safe_position(self) -> Optional[Position]:
        """The last transaction end, or where the oldest prepared XA transaction began."""
        starts = [since for since, _ in self.prepared.values()]
        if not starts:
            return self.boundary
        known = [since for since in starts if since is not None]
        if len(known) < len(starts) or self.boundary is None:
            return None  # a prepared transaction began before any position this run knows
        return min([self.boundary, *known])

    def take(self) -> Batch:
        """Everything committed so far, through the safe position."""
        batch = self.committed
        batch.through = self.safe_position()
        self.committed = Batch()
        self.oldest_commit_at = None
        return batch

    def rest(self) -> Batch:
        """At the end of the stream: the committed changes, and those of a transaction still open
        (applying them re-reads the source, which is harmless); the position stays at the last end."""
        batch = self.take()
        batch.absorb(self.open)
        self.open = Batch()
        return batch


def position_of(recorded: Optional[Mapping[str, Any]]) -> Optional[Position]:
    """A recorded position ({"binlog_file", "binlog_position", ...}) as a Position, or None."""
    if not recorded or "binlog_file" not in recorded or recorded.get("binlog_position") is None:
        return None
    return Position(str(recorded["binlog_file"]), int(recorded["binlog_position"]))


def table_start(given: Optional[Position], applied: Optional[Position]) -> Optional[Position]:
    """Where a table's catch-up starts: the position asked for (a report's, or --from-position),
    moved forward only to what this table itself has been applied through, never by another
    table's, database's or server's position."""
    present = [p for p in (given, applied) if p is not None]
    return max(present) if present else None
