"""Driver thread that logs, per running table, rows done, items/s and ETA."""
import logging
import threading
import time
from typing import Dict

log = logging.getLogger("mysql2dynamodb")


def format_eta(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def progress_line(name: str, done: int, estimated: int, elapsed: float,
                  partitions_done: int = 0, partitions: int = 0) -> str:
    """Rows count as their partition finishes; the partition count shows where the job is."""
    rate = done / elapsed if elapsed > 0 else 0.0
    total = max(estimated, done)
    eta = (total - done) / rate if rate > 0 else float("inf")
    percent = f"{100.0 * done / total:.0f}%" if total else "-"
    parts = f", {partitions_done}/{partitions} partitions" if partitions else ""
    return (f"progress {name}: {done}/{total} rows ({percent}){parts}, {rate:.0f} items/s, "
            f"ETA {format_eta(eta)}")


class Progress:
    def __init__(self, interval_seconds: float):
        self.interval = interval_seconds
        self._tables: Dict[str, tuple] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)

    def start(self) -> "Progress":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def track(self, name: str, estimated: int, log, partitions: int = 0) -> None:
        """log: the table's PartitionLog (finished partitions and their rows)."""
        with self._lock:
            self._tables[name] = (estimated, log, partitions, time.monotonic())

    def done(self, name: str) -> None:
        with self._lock:
            self._tables.pop(name, None)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                tables = list(self._tables.items())
            for name, (estimated, partition_log, partitions, started) in tables:
                finished = partition_log.finished()
                done = sum(part["rows"] for part in finished.values())
                log.info(progress_line(name, done, estimated, time.monotonic() - started, len(finished), partitions))
