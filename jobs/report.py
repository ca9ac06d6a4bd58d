"""The end-of-run report: a human table in the log and the same as JSON."""

import datetime
import json
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

COMPLETED = "completed"
COMPLETED_WITH_REJECTS = "completed with rejects"
FAILED = "failed"
VERIFY_FAILED = "verification failed"
VERIFIED = "verified"
ALREADY_DONE = "already done"
SKIPPED = "skipped"
PLANNED = "planned"
CAUGHT_UP = "caught up"
BEHIND = "stopped behind"  # a catch-up that stopped before its target: applied, but not through it
NEEDS_RELOAD = "needs reload"

RUNNING = "running"  # the report path while a run is in progress: a killed run leaves this
FINISHED = "finished"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REJECTS = 3


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def now_precise() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class TableResult:
    source: str  # for people; database and table identify it
    database: str = ""
    table: str = ""
    target: str = ""
    table_id: str = ""  # the DynamoDB table's TableId: the state is tied to it
    key: str = ""
    status: str = PLANNED
    table_action: str = ""  # created / reused
    partitions: str = ""
    load_mode: str = ""  # write or import, and why (the plan's estimates are in estimate)
    load_mode_reason: str = ""
    estimate: Optional[Dict] = None
    write_rate: Optional[Dict] = None  # WCU/s the load starts at and may climb to, and why
    estimated_rows: int = 0
    estimated_bytes: int = 0
    rows_read: int = 0
    items_written: int = 0
    write_units: int = 0  # write mode: WRU the items written consumed (1 per started KB each), beside the estimate
    items_staged: int = 0  # import mode: items staged as DynamoDB JSON (items_written: what the import wrote)
    bytes_staged: int = 0  # import mode: uncompressed DynamoDB JSON staged, what ImportTable bills
    imported: Optional[Dict] = None  # import mode: the import's ARN, status and counts as AWS reports them
    items_deleted: int = 0  # catch-up: items of rows deleted (or re-keyed) at the source
    # Where this table is equal to the source from: its load's binlog position (an earlier run's
    # when it keeps that run's partitions), or, after a catch-up, the position applied through.
    # A catch-up of this table starts there (--from-report, or the state).
    source_position: Optional[Dict] = None
    rejected: int = 0
    merged_rows: int = 0  # rows whose key text another row also had: one item for both
    partitions_finished: int = 0  # in this run; a failed table's counts are those partitions'
    duplicate_rows: int = 0
    collapsed_duplicates: int = 0
    retried_items: int = 0
    throttle_events: int = 0
    seconds: float = 0.0
    started_at: str = ""
    finished_at: str = ""
    rejects_path: str = ""
    notes: List[str] = field(default_factory=list)
    foreign_keys: List[str] = field(default_factory=list)  # cascading foreign keys and what catch-up does
    error: Optional[str] = None
    verification: Optional[Dict] = None
    repaired: Optional[Dict] = None  # --repair (or a reload after catch-up): items put and deleted, why, keys found

    @property
    def items_per_second(self) -> float:
        return self.items_written / self.seconds if self.seconds > 0 else 0.0

    def record_load(self, totals: Dict[str, int], partitions: int, rejects_path: str, seconds: float) -> None:
        """What the finished partitions of this run wrote (load.STAT_FIELDS totals)."""
        for field_name, total_name in LOAD_TOTALS.items():
            setattr(self, field_name, totals[total_name])
        self.partitions_finished = partitions
        self.rejects_path = rejects_path if totals["rejected"] else ""
        self.seconds = seconds


LOAD_TOTALS = {
    "rows_read": "rows",
    "items_written": "written",
    "write_units": "consumed_units",
    "rejected": "rejected",
    "merged_rows": "merged_rows",
    "bytes_staged": "staged_bytes",
    "duplicate_rows": "duplicate_rows",
    "collapsed_duplicates": "collapsed_duplicates",
    "retried_items": "retried_items",
    "throttle_events": "throttle_events",
}


@dataclass
class NotMigrated:
    """A view, sequence or other object of a selected database that is not migrated, and why."""

    source: str
    database: str
    table: str
    kind: str
    reason: str


@dataclass
class Report:
    tables: List[TableResult] = field(default_factory=list)
    not_migrated: List[NotMigrated] = field(default_factory=list)
    source_position: Dict = field(default_factory=dict)
    dry_run: bool = False
    started_at: str = ""
    finished_at: str = ""
    error: Optional[str] = None  # the run as a whole failed (bad input, nothing matched, planning)
    catch_up: Optional[Dict] = None  # start, end and target positions, row changes, why it stopped
    prices: Optional[Dict] = None  # the price list the estimates used, with its date
    not_visible: List[str] = field(default_factory=list)  # databases the user cannot read whole
    source_reads: Optional[Dict] = None  # JDBC reads held open at once at most, why, and the peak

    def exit_code(self) -> int:
        if self.error or self.not_visible:
            return EXIT_FAILED
        if self.dry_run:
            return EXIT_FAILED if any(t.status in (FAILED, SKIPPED) for t in self.tables) else EXIT_OK
        if any(t.status in (FAILED, SKIPPED, VERIFY_FAILED, NEEDS_RELOAD, BEHIND) for t in self.tables):
            return EXIT_FAILED
        if any(t.status == COMPLETED_WITH_REJECTS or (t.status == CAUGHT_UP and t.rejected) for t in self.tables):
            return EXIT_REJECTS
        return EXIT_OK

    def totals(self) -> Dict[str, int]:
        return {
            name: sum(getattr(t, name) for t in self.tables)
            for name in ("rows_read", "items_written", "rejected", "merged_rows", "duplicate_rows")
        }

    def to_json(self) -> str:
        body = {
            "status": FINISHED,
            "dry_run": self.dry_run,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "exit_code": self.exit_code(),
            "error": self.error,
            "source_position": self.source_position,
            "catch_up": self.catch_up,
            "prices": self.prices,
            "source_reads": self.source_reads,
            "totals": self.totals(),
            "tables": [dict(asdict(t), items_per_second=round(t.items_per_second, 1)) for t in self.tables],
            "not_migrated": [asdict(o) for o in self.not_migrated],
            "not_visible": self.not_visible,
        }
        return json.dumps(body, indent=2, ensure_ascii=False)

    def to_text(self, verbose: bool = False) -> str:
        """The report for people. Cascading foreign keys are listed one line a table where they
        matter (the plan, a catch-up), each on its own with verbose, and not in loads or checks."""
        headers = [
            "source table",
            "status",
            "rows read",
            "written",
            "rejected",
            "verified",
            "secs",
            "items/s",
            "target",
            "key",
        ]
        rows = [
            [
                t.source,
                t.status,
                str(t.rows_read),
                str(t.items_written),
                str(t.rejected),
                _verified(t),
                f"{t.seconds:.1f}",
                f"{t.items_per_second:.0f}",
                t.target,
                t.key,
            ]
            for t in self.tables
        ]
        if self.dry_run:
            headers = [
                "source table",
                "est. rows",
                "est. bytes",
                "mode",
                "est. WRU",
                "write $",
                "write time",
                "import $",
                "target",
                "key",
                "partitions",
            ]
            rows = [
                [t.source, str(t.estimated_rows), str(t.estimated_bytes), t.load_mode]
                + _estimate_cells(t)
                + [t.target, t.key, t.partitions]
                for t in self.tables
            ]
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
        if self.source_reads:
            lines.append(f"  source reads: {self.source_reads['summary']}")
        for t in self.tables:
            for note in t.notes:
                lines.append(f"  note {t.source}: {note}")
            if t.foreign_keys and verbose:
                lines += [f"  note {t.source}: {note}" for note in t.foreign_keys]
            elif t.foreign_keys and (self.dry_run or self.catch_up is not None):
                keys = "; ".join(note.split(": ", 1)[0] for note in t.foreign_keys)
                lines.append(f"  foreign keys {t.source} (catch-up follows their cascades): {keys}")
            if t.error:
                lines.append(f"  {t.status} {t.source}: {t.error}")
            if t.rejected:
                lines.append(f"  rejects {t.source}: {t.rejected} row(s) in {t.rejects_path}")
            if t.merged_rows:
                lines.append(
                    f"  merged {t.source}: {t.merged_rows} row(s) share their key text with another row "
                    f"and were merged into its item"
                )
            if t.duplicate_rows:
                lines.append(
                    f"  duplicates {t.source}: {t.duplicate_rows} exact duplicate row(s) kept as separate items"
                )
            if t.load_mode and t.load_mode_reason and (self.dry_run or t.load_mode != "write"):
                lines.append(f"  mode {t.source}: {t.load_mode} ({t.load_mode_reason})")
            if (
                t.write_rate
                and t.load_mode != "import"
                and (
                    self.dry_run
                    or t.write_rate["ceiling"] != t.write_rate["start"]
                    or "capped" in t.write_rate["reason"]
                )
            ):
                r = t.write_rate
                span = f"{r['start']:g}" if r["start"] == r["ceiling"] else f"{r['start']:g} -> {r['ceiling']:g}"
                lines.append(f"  rate {t.source}: {span} WCU/s ({r['reason']})")
            if t.imported:
                lines.append(
                    f"  import {t.source}: {t.imported.get('ImportStatus')} {t.imported.get('ImportArn')}: "
                    f"{t.imported.get('ImportedItemCount')} imported of {t.items_staged} staged, "
                    f"{t.imported.get('ErrorCount')} error(s), {t.imported.get('ProcessedSizeBytes')} bytes"
                )
            if t.estimate and not self.dry_run and t.status not in (SKIPPED, PLANNED):
                consumed = f", {t.write_units} WRU consumed" if t.load_mode != "import" else ""
                lines.append(
                    f"  estimate {t.source}: {t.estimate['items']} items, {t.estimate['write_units']} WRU "
                    f"estimated ({t.estimate.get('basis') or 'items sized'}); {t.rows_read} rows read, "
                    f"{t.items_written} items written{consumed}"
                )
            if t.repaired:
                lines.append(
                    f"  repair {t.source}: {t.repaired['put']} item(s) put, {t.repaired['deleted']} deleted "
                    f"({t.repaired['reason']})"
                )
            if t.verification and not t.verification["match"]:
                lines.append(f"  verify {t.source}: {json.dumps(t.verification, ensure_ascii=False)}")
        for other in self.not_migrated:
            lines.append(f"  not migrated {other.source} ({other.kind}): {other.reason}")
        for unseen in self.not_visible:
            lines.append(f"  not visible: {unseen}")
        if self.catch_up:
            c = self.catch_up
            lines.append(
                f"  catch-up: {c.get('row_changes', 0)} row change(s) from {_position(c.get('start'))} to "
                f"{_position(c.get('end'))} in {c.get('seconds', 0)}s ({c.get('stopped', '')})"
            )
            verification = c.get("verification")
            if verification:
                lines.append(f"  live verification: {verification['summary']}")
                for name, table in verification["tables"].items():
                    lines.append(
                        f"    {name}: {table['status']}, through {_position(table['verified_through'])}, "
                        f"{table['passes']} whole + {table['rounds']} round(s), {table['keys_compared']} keys compared"
                        + "".join(f"; {e['problem']} at key {json.dumps(e['key'])}" for e in table.get("examples", []))
                    )
        if self.error:
            lines.append(f"  error: {self.error}")
        if self.dry_run:
            lines.append(_cost_total(self.tables) + (f" (prices of {self.prices['as_of']})" if self.prices else ""))
        totals = self.totals()
        lines.append(
            f"total: {len(self.tables)} table(s), {totals['rows_read']} rows read, "
            f"{totals['items_written']} items written, {totals['rejected']} rejected; "
            f"exit code {self.exit_code()}"
        )
        return "\n".join(lines)


def _estimate_cells(result: TableResult) -> List[str]:
    e = result.estimate
    if not e:
        return ["-", "-", "-", "-"]
    return [str(e["write_units"]), f"{e['write_usd']:.2f}", _duration(e["write_seconds"]), f"{e['import_usd']:.2f}"]


def _cost_total(tables: List[TableResult]) -> str:
    """The run's estimate: each table in the mode chosen for it, and both modes for comparison."""
    estimates = [(t.load_mode, t.estimate) for t in tables if t.estimate]
    chosen = sum(e["import_usd"] if mode == "import" else e["write_usd"] for mode, e in estimates)
    writes = sum(e["write_usd"] for _, e in estimates)
    imports = sum(e["import_usd"] for _, e in estimates)
    write_time = sum(e["write_seconds"] for mode, e in estimates if mode != "import")
    return (
        f"estimate: ${chosen:.2f} in the chosen modes (all writes ${writes:.2f}, all imports ${imports:.2f}); "
        f"{_duration(write_time)} of writing at the tables' rates, one table after another"
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def _position(position: Optional[Dict]) -> str:
    if not position:
        return "-"
    if "binlog_file" in position:
        return f"{position['binlog_file']}:{position['binlog_position']}"
    return f"GTID {position.get('gtid')}"


def _verified(result: TableResult) -> str:
    if not result.verification:
        return "-"
    if result.verification["match"]:
        return f"yes ({result.verification['dynamodb_items']})"
    return "NO"


def running_report(command: List[str]) -> str:
    """Written first, so that a run killed before its end (SIGKILL, out of memory) never leaves
    an earlier run's report at the path to pass for its own: no exit code, status running."""
    body = {"status": RUNNING, "started_at": now(), "exit_code": None, "command": command, "tables": []}
    return json.dumps(body, indent=2, ensure_ascii=False)


def finished(report: Report, most_held_reads: Optional[int] = None) -> Report:
    """The run's end time, and the most JDBC reads it held open at once (a load's)."""
    report.finished_at = now()
    if most_held_reads is not None and report.source_reads is not None:
        report.source_reads["most_held"] = most_held_reads
    return report
