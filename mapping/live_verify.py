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


def key_text(values: Sequence[Optional[str]]) -> str:
    """An item's key values as verification, repair and live verification match them."""
    return json.dumps(list(values), ensure_ascii=False)


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
    tables: Sequence[TableVerification], lag_seconds: float, lag_bound_seconds: float, last_change: Optional[Position]
) -> CutOver:
    """Safe to cut over: every table verified through the last change the catch-up has seen
    (so what it applied since is verified too), and the catch-up's lag within the bound."""
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
    return CutOver(True, "every table verified through the last change, and caught up")


def unsettled(tables: Sequence[TableVerification], last_change: Optional[Position]) -> List[str]:
    """Tables whose verification has not yet judged everything up to the last change: neither
    verified nor differing for certain."""
    return [
        t.name
        for t in tables
        if t.failed is None
        and (t.pending or t.verified_through is None or (last_change is not None and t.verified_through < last_change))
    ]
