"""The binlog read ahead in a process of its own.

Parsing row events is CPU-bound Python (python-mysql-replication decodes every column of every
image); in the applying process it took turns with re-reading rows and writing items. Here a
child process reads and parses while the catch-up applies what came before, and hands the
events over a bounded queue, a chunk at a time: a full queue stops the reading, so memory
stays bounded whatever the lag.
"""

import multiprocessing
import queue as queues
from typing import Any, Dict, Generator

from jobs.errors import SourceError, one_line
from jobs.mysql import binlog
from mapping.binlog import Event, RowsChanged

CHUNK_EVENTS = 500  # row events sent together; any other event (a commit, a heartbeat) goes at once
QUEUED_CHUNKS = 16


def _read(arguments: Dict[str, Any], out: Any) -> None:
    """In the child: every event of binlog.events, in chunks, then ("end", None) or ("error", text)."""
    try:
        chunk = []
        for event in binlog.events(**arguments):
            chunk.append(event)
            if len(chunk) >= CHUNK_EVENTS or not isinstance(event, RowsChanged):
                out.put(("events", chunk))
                chunk = []
        out.put(("events", chunk))
        out.put(("end", None))
    except BaseException as e:  # noqa: BLE001 - told to the parent in one line
        out.put(("error", one_line(e)))


def events_read_ahead(arguments: Dict[str, Any]) -> Generator[Event, None, None]:
    """binlog.events(**arguments), read and parsed by a child process while the caller applies;
    closing the generator stops the child."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads, locks or handlers copied
    out = context.Queue(QUEUED_CHUNKS)
    reader = context.Process(target=_read, args=(arguments, out), name="binlog-reader", daemon=True)
    reader.start()
    try:
        while True:
            try:
                kind, body = out.get(timeout=1.0)
            except queues.Empty:
                if not reader.is_alive():
                    raise SourceError(f"the binlog reader ended (exit code {reader.exitcode})") from None
                continue
            if kind == "events":
                yield from body
            elif kind == "end":
                return
            else:
                raise SourceError(f"reading the binlog: {body}")
    finally:
        reader.terminate()
        reader.join(5)
        out.close()
