"""Where each table's catch-up starts: the position asked for (--from-position, or a report's
per-table position), moved forward only to the position that table itself was applied
through (the state). Positions of another server are refused; a table with no position
at all is named, not guessed."""

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Sequence

from jobs import storage
from jobs.config import CatchUpConfig
from jobs.errors import SourceError
from jobs.state import State
from jobs.table_job import TableJob
from mapping.binlog import Position, TableName, position_of, table_start


@dataclass
class Starts:
    tables: Dict[TableName, Optional[Position]] = field(default_factory=dict)  # None: from the GTID on
    missing: Dict[TableName, str] = field(default_factory=dict)  # tables with no start, and why
    gtid: Optional[str] = None

    def earliest(self, tables: Sequence[TableName]) -> Optional[Position]:
        """Where the stream starts for these tables: the smallest of their positions."""
        known = [p for t in tables if (p := self.tables.get(t)) is not None]
        return min(known) if known else None


def resolve(settings: CatchUpConfig, state: State, jobs: Sequence[TableJob], server: str) -> Starts:
    if settings.from_gtid:  # one GTID set for every table: the user's explicit start
        return Starts({job.identity: None for job in jobs}, gtid=settings.from_gtid)
    given = _given(settings, jobs, server)
    starts = Starts()
    for job in jobs:
        applied = state.catch_up_from(job.identity)
        mine = position_of(applied) if applied and applied.get("server") == server else None
        start = table_start(given.get(job.identity), mine)
        if start is None:
            starts.missing[job.identity] = (
                "no binlog position is recorded for this table"
                + (f" in {settings.from_report}" if settings.from_report else "")
                + f" or in the state ({state.path}): load it, then catch up"
            )
        else:
            starts.tables[job.identity] = start
    return starts


def _given(settings: CatchUpConfig, jobs: Sequence[TableJob], server: str) -> Dict[TableName, Position]:
    if settings.from_position:
        file, _, pos = settings.from_position.rpartition(":")
        return {job.identity: Position(file, int(pos)) for job in jobs}
    if not settings.from_report:
        return {}
    body = json.loads(storage.read_text(settings.from_report))
    return report_positions(body, settings.from_report, server)


def report_positions(body: Mapping[str, Any], path: str, server: str) -> Dict[TableName, Position]:
    """Each table's position in a load's or catch-up's report. A report of an older version,
    whose tables carry none, gives its run's position to every table it lists."""
    tables = body.get("tables") or []
    per_table = any("source_position" in t for t in tables)
    run_position = (body.get("catch_up") or {}).get("end") or body.get("source_position") or {}
    found: Dict[TableName, Position] = {}
    for entry in tables:
        recorded = entry.get("source_position") if per_table else run_position
        position = position_of(recorded)
        if position is None:
            continue
        if recorded and recorded.get("server") not in (None, server):
            raise SourceError(
                f"report {path}: the position of {entry.get('database')}.{entry.get('table')} is on server "
                f"{recorded['server']}, this is {server}; catch up against the server that was loaded"
            )
        found[(str(entry.get("database")), str(entry.get("table")))] = position
    if not found and not per_table:
        why = (run_position.get("missing") or {}).get("binlog_position", "no binlog position recorded")
        raise SourceError(f"report {path} has no binlog position to start from: {why}")
    return found
