"""Rows a running partition has done so far, before Spark knows of it.

Spark merges a task's accumulators only when the task ends, so a table whose partitions
are all running would show 0 rows for as long as they run. Each write task sends its count
every few seconds in one UDP datagram to the driver; a lost datagram only delays a figure,
and the finished partitions' counts still come from Spark alone.
"""

import contextlib
import json
import socket
import threading
import time
from typing import Dict, Iterable, Iterator, Optional, Tuple

Address = Tuple[str, int]


class LiveRows:
    """Driver side: the latest count of each running partition, per target table."""

    def __init__(self, host: str):
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((host, 0))
        self._socket.settimeout(0.5)
        self.address: Address = (host, self._socket.getsockname()[1])
        self._counts: Dict[str, Dict[int, int]] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="live-rows", daemon=True)
        self._thread.start()

    def rows(self, target: str) -> Dict[int, int]:
        with self._lock:
            return dict(self._counts.get(target, {}))

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        self._socket.close()

    def _receive(self) -> None:
        while not self._stopped.is_set():
            try:
                message = json.loads(self._socket.recv(512))
                target, partition, rows = str(message["t"]), int(message["p"]), int(message["r"])
            except socket.timeout:
                continue
            except (OSError, ValueError, KeyError, TypeError):
                continue  # not ours, or cut: progress only
            with self._lock:
                self._counts.setdefault(target, {})[partition] = rows  # a retried task starts again at 0


class RowsReporter:
    """Task side: sends the partition's count at most every interval seconds."""

    CHECK_EVERY = 128  # rows between two looks at the clock

    def __init__(self, address: Optional[Address], target: str, partition: int, interval: float):
        self._address, self._target, self._partition, self._interval = address, target, partition, interval
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM) if address else None
        self._due = time.monotonic() + interval

    def rows(self, count: int) -> None:
        if self._socket is None or count % self.CHECK_EVERY or time.monotonic() < self._due:
            return
        self._due = time.monotonic() + self._interval
        self.send(count)

    def send(self, count: int) -> None:
        if self._socket is None or self._address is None:
            return
        message = json.dumps({"t": self._target, "p": self._partition, "r": count}).encode()
        with contextlib.suppress(OSError):  # progress only
            self._socket.sendto(message, self._address)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()


class CountedRows:
    """A Spark task's rows passed through while their count so far goes to the driver (a
    verification's read: `verify.verify_table(..., counted=CountedRows(...))`)."""

    def __init__(self, address: Optional[Address], target: str, interval: float):
        self.address, self.target, self.interval = address, target, interval

    def __call__(self, partition: int, rows: Iterable) -> Iterator:
        reporter = RowsReporter(self.address, self.target, partition, self.interval)
        number = 0
        try:
            for number, row in enumerate(rows, 1):
                reporter.rows(number)
                yield row
            reporter.send(number)  # a partition's whole count: the progress has no other source for it
        finally:
            reporter.close()
