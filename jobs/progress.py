"""Driver thread that logs, per running table, rows done, items/s and ETA."""

import logging
import math
import threading
import time
from typing import Dict, Optional

from jobs.load.live_rows import Address, LiveRows

log = logging.getLogger("mysql2dynamodb")


def format_eta(seconds: float) -> str:
    if math.isnan(seconds) or math.isinf(seconds):
        return "?"
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


def progress_line(
    name: str, done: int, estimated: int, elapsed: float, partitions_done: int = 0, partitions: int = 0
) -> str:
    """Rows of finished partitions and, so far, of running ones; the partition count shows where the job is."""
    rate = done / elapsed if elapsed > 0 else 0.0
    total = max(estimated, done)
    eta = (total - done) / rate if rate > 0 else float("inf")
    percent = f"{100.0 * done / total:.0f}%" if total else "-"
    parts = f", {partitions_done}/{partitions} partitions" if partitions else ""
    return f"progress {name}: {done}/{total} rows ({percent}){parts}, {rate:.0f} items/s, ETA {format_eta(eta)}"


class Every:
    """A daemon thread calling action every interval seconds until stopped (then once more, if asked)."""

    def __init__(self, interval_seconds: float, action, name: str):
        self.interval, self.action = interval_seconds, action
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self, wait: bool = False) -> None:
        self._stop.set()
        if wait:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.action()


class Progress:
    def __init__(self, interval_seconds: float, live: Optional[LiveRows] = None):
        self._tables: Dict[str, tuple] = {}
        self._lock = threading.Lock()
        self._ticker = Every(interval_seconds, self._log_tables, "progress")
        self.interval = interval_seconds
        self.live = live  # running partitions' rows so far, as their tasks send them

    @property
    def live_address(self) -> Optional[Address]:
        return self.live.address if self.live is not None else None

    def start(self) -> "Progress":
        self._ticker.start()
        return self

    def stop(self) -> None:
        self._ticker.stop()
        if self.live is not None:
            self.live.stop()

    def track(self, name: str, estimated: int, log, partitions: int = 0, target: str = "") -> None:
        """log: the table's PartitionLog (finished partitions and their rows); target: the key its
        tasks send their running counts under."""
        with self._lock:
            self._tables[name] = (estimated, log, partitions, time.monotonic(), target)

    def done(self, name: str) -> None:
        with self._lock:
            self._tables.pop(name, None)

    def _log_tables(self) -> None:
        with self._lock:
            tables = list(self._tables.items())
        for name, (estimated, partition_log, partitions, started, target) in tables:
            finished = partition_log.finished()
            running = self.live.rows(target) if self.live is not None and target else {}
            done = sum(part["rows"] for part in finished.values())
            done += sum(rows for number, rows in running.items() if number not in finished)
            log.info(progress_line(name, done, estimated, time.monotonic() - started, len(finished), partitions))
