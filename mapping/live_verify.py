"""Live verification's rules: when a difference is real, when a table is verified, when it is
safe to cut over. Pure: the follower (`jobs.catchup.live_verify`) does the reading.

A comparison reads the source in a snapshot at binlog position P (a span [low, high] when the
server cannot name it exactly) and DynamoDB once the catch-up has applied through high. A key
that differs is judged once the catch-up has also applied through S, the source's position
after the DynamoDB read: if the catch-up wrote the key for a change after low, the source moved
on since the read and the key is compared again later (pending); if it did not, nothing the
catch-up still owes can explain the difference, and it is real.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mapping.binlog import Position

EQUAL, PENDING, REAL = "equal", "pending", "real"
MISSING, EXTRA, DIFFERENT = "missing in DynamoDB", "not in the source", "attributes differ"


def problem(source_digest: Optional[int], target_digest: Optional[int]) -> Optional[str]:
    """What is wrong with one key, or None when both sides hold the same item."""
    if source_digest == target_digest:
        return None
    if target_digest is None:
        return MISSING
    if source_digest is None:
        return EXTRA
    return DIFFERENT


def judge(found: Optional[str], touched_since_read: bool) -> str:
    if found is None:
        return EQUAL
    return PENDING if touched_since_read else REAL


_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f\\"]')  # what json.dumps(ensure_ascii=False) escapes in a string


def key_text(values: Sequence[Optional[str]]) -> str:
    """An item's key values as verification, repair and live verification match them: the JSON
    text json.dumps(list(values), ensure_ascii=False) gives, built directly when no value needs
    escaping (a comparison computes it for every item of both sides)."""
    parts = []
    for value in values:
        if value is None:
            parts.append("null")
        elif not isinstance(value, str) or _NEEDS_ESCAPE.search(value):
            return json.dumps(list(values), ensure_ascii=False)
        else:
            parts.append('"' + value + '"')
    return "[" + ", ".join(parts) + "]"


@dataclass
class TableVerification:
    """One table's live verification: how far it is verified, and what is still open."""

    name: str
    verified_through: Optional[Position] = None  # every key compared equal as of this position
    pending: Dict[str, str] = field(default_factory=dict)  # key -> problem, changed since it was read
    differences: Dict[str, Tuple[str, Position]] = field(default_factory=dict)  # key -> (problem, read at)
    passes: int = 0  # whole-table comparisons
    rounds: int = 0  # comparisons of the keys changed since the last one
    keys_compared: int = 0
    repaired: int = 0
    failed: Optional[str] = None  # it left the catch-up, or could not be read
    repasses: int = 0  # whole comparisons again in the background: changes the binlog never shows
    last_whole_pass: Optional[Tuple[str, Position]] = None  # (when it ended, UTC; the position it read at)

    def record(self, low: Position, verdicts: Dict[str, Tuple[str, Optional[str]]], whole: Optional[int]) -> None:
        """A comparison read at `low`: each compared key's (verdict, problem), for a round the
        keys it compared, for a whole-table comparison (`whole` keys compared) those that differ.
        A key compared equal is no longer pending or different; the table is verified through
        `low` when nothing is left open."""
        if whole is not None:  # every key either side holds was compared: nothing else is open
            self.passes += 1
            self.pending, self.differences = {}, {}
            self.keys_compared += whole
        else:
            self.rounds += 1
            self.keys_compared += len(verdicts)
        for key, (verdict, found) in verdicts.items():
            self.pending.pop(key, None)
            self.differences.pop(key, None)
            if verdict == PENDING:
                self.pending[key] = found or ""
            elif verdict == REAL:
                self.differences[key] = (found or "", low)
        self.verified_through = low

    def record_repass(self, low: Position, real: Dict[str, str], ended_at: str) -> None:
        """A whole comparison again, read at `low` while rounds went on: only what it found real
        (keys the catch-up did not write since `low`) is added; what the rounds verified stays."""
        self.repasses += 1
        self.keys_compared += len(real)
        for key, found in real.items():
            self.pending.pop(key, None)
            self.differences[key] = (found, low)
        self.last_whole_pass = (ended_at, low)

    @property
    def verified(self) -> bool:
        return self.failed is None and self.verified_through is not None and not self.pending and not self.differences

    def status(self) -> str:
        if self.failed is not None:
            return "failed"
        if self.differences:
            return "differs"
        if self.verified:
            return "verified"
        return "verifying"

    def as_report(self, examples: int) -> Dict[str, Any]:
        report: Dict[str, Any] = {
            "status": self.status(),
            "verified_through": self.verified_through.as_dict() if self.verified and self.verified_through else None,
            "passes": self.passes,
            "rounds": self.rounds,
            "keys_compared": self.keys_compared,
            "pending": len(self.pending),
            "differences": len(self.differences),
            "repaired": self.repaired,
            "repasses": self.repasses,
            # "verified_through" covers what the binlog shows; anything else (a change made with
            # sql_log_bin = 0, an item edited in DynamoDB) is covered up to the last whole pass
            "last_whole_pass": (
                {"ended_at": self.last_whole_pass[0], "read_at": str(self.last_whole_pass[1])}
                if self.last_whole_pass
                else None
            ),
        }
        if self.differences:
            report["examples"] = [
                {"key": json.loads(key), "problem": found, "read_at": str(at)}
                for key, (found, at) in sorted(self.differences.items())[:examples]
            ]
        if self.failed:
            report["error"] = self.failed
        return report


@dataclass(frozen=True)
class CutOver:
    safe: bool
    why: str


def cut_over(
    tables: Sequence[TableVerification],
    lag_seconds: float,
    lag_bound_seconds: float,
    last_change: Optional[Position],
    fence: Optional[Position] = None,
    prepared_xa: int = 0,
) -> CutOver:
    """Safe to cut over only after a fence: the source made read-only (so no later write can
    come), the catch-up applied through the server's position taken after it, and every table
    verified through that position. Silence proves nothing (a slow writer, a long transaction);
    before a fence the best there is, is "in sync", never safe."""
    open_tables = [t.name for t in tables if not t.verified]
    if open_tables:
        return CutOver(False, f"not verified yet: {', '.join(open_tables)}")
    behind = [
        t.name for t in tables if last_change is not None and t.verified_through and t.verified_through < last_change
    ]
    if behind:
        return CutOver(False, f"verified, but not through the last change ({last_change}): {', '.join(behind)}")
    if lag_seconds > lag_bound_seconds:
        return CutOver(False, f"verified, but the catch-up lags {lag_seconds:.0f}s (bound {lag_bound_seconds:.0f}s)")
    if prepared_xa:
        return CutOver(False, f"verified, but {prepared_xa} XA transaction(s) are prepared and not yet committed")
    through = min((t.verified_through for t in tables if t.verified_through), default=None)
    if fence is None:
        return CutOver(
            False,
            f"in sync: verified through {through}, lag {lag_seconds:.0f}s; no fence yet: "
            "stop the application's writes and set the source read-only (SET GLOBAL read_only = ON)",
        )
    short = [t.name for t in tables if t.verified_through is None or t.verified_through < fence]
    if short:
        return CutOver(False, f"the source is read-only since {fence}; verifying through it: {', '.join(short)}")
    return CutOver(True, f"the source is read-only since {fence}, and every table is verified through it")


def unsettled(tables: Sequence[TableVerification], last_change: Optional[Position]) -> List[str]:
    """Tables whose verification has not yet judged everything up to the last change: neither
    verified nor differing for certain."""
    return [
        t.name
        for t in tables
        if t.failed is None
        and (t.pending or t.verified_through is None or (last_change is not None and t.verified_through < last_change))
    ]
