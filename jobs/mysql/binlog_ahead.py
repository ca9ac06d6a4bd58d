"""The binlog read ahead in a process of its own, tied to its parent.

Parsing row events is CPU-bound Python (python-mysql-replication decodes every column of every
image); in the applying process it took turns with re-reading rows and writing items. Here a
child process reads and parses while the catch-up applies what came before, and sends the
events back over its stdout, a chunk at a time; a thread of the parent unpickles them into a
bounded queue: a full queue stops the reading, so memory stays bounded whatever the lag.

One process tree, one fate:
- the child dies with its parent, SIGKILL included (Linux's parent-death signal), so no reader
  is left holding a `Binlog Dump` connection; it is a plain subprocess, not multiprocessing's,
  which would leave its `resource_tracker` behind too;
- the child ignores SIGINT and SIGTERM: a signal to the process group (Ctrl-C, systemd's
  `KillMode=control-group`) is the parent's to act on, which stops the child itself;
- the parent notices a child that died (end of its stdout) at once, and one that sends nothing,
  not even its keep-alive, within STUCK_SECONDS; either ends the catch-up in one line.
"""

import contextlib
import os
import pickle
import queue as queues
import signal
import subprocess
import sys
import threading
import time
from typing import IO, Any, Dict, Generator, Optional, Tuple

from jobs.errors import SourceError, one_line
from mapping.binlog import Event, RowsChanged

CHUNK_EVENTS = 500  # row events sent together; any other event (a commit, a heartbeat) goes at once
QUEUED_CHUNKS = 16
KEEP_ALIVE_SECONDS = 1.0
STUCK_SECONDS = 15.0  # no message (events or keep-alive) for this long: the reader is stuck
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Linux: SIGKILL this process when its parent dies; elsewhere (or if the parent is already
    gone) the parent's closed pipe ends it at its next write."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


class _Sender:
    """The child's side: pickled messages on stdout, one writer at a time."""

    def __init__(self, out: IO[bytes]):
        self.out, self.lock = out, threading.Lock()

    def send(self, message: Tuple[str, Any]) -> None:
        body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self.lock:
            self.out.write(body)
            self.out.flush()

    def keep_alive(self) -> None:
        while True:
            time.sleep(KEEP_ALIVE_SECONDS)
            self.send(("alive", None))


def child_main() -> None:
    """In the child: every event of binlog.events(**arguments), arguments read from stdin (the
    password never appears on a command line), in chunks; then ("end", None) or ("error", text)."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)
    arguments = pickle.load(sys.stdin.buffer)
    _die_with_parent(arguments.pop("parent"))
    sender = _Sender(sys.stdout.buffer)
    threading.Thread(target=sender.keep_alive, name="keep-alive", daemon=True).start()
    from jobs.mysql import binlog

    try:
        chunk = []
        for event in binlog.events(**arguments):
            chunk.append(event)
            if len(chunk) >= CHUNK_EVENTS or not isinstance(event, RowsChanged):
                sender.send(("events", chunk))
                chunk = []
        sender.send(("events", chunk))
        sender.send(("end", None))
    except BaseException as e:  # noqa: BLE001 - told to the parent in one line
        sender.send(("error", one_line(e)))
    sys.stdout.flush()
    os._exit(0)  # the keep-alive thread and the library's connections end with the process


def _pump(out: IO[bytes], into: "queues.Queue[Tuple[str, Any]]") -> None:
    """The parent's thread: the child's messages into the bounded queue, then ("eof", None)."""
    try:
        while True:
            into.put(pickle.load(out))
    except (EOFError, OSError, pickle.UnpicklingError, ValueError):  # ValueError: the stop closed the pipe mid-read
        pass
    into.put(("eof", None))


def _start(arguments: Dict[str, Any]) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # as the parent imports jobs (zip on EMR too)
    child = subprocess.Popen(
        [sys.executable, "-m", "jobs.mysql.binlog_ahead"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert child.stdin is not None
    pickle.dump(dict(arguments, parent=os.getpid()), child.stdin)
    child.stdin.close()
    return child


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.kill()  # it ignores SIGTERM by design
    child.wait(10)
    if child.stdout is not None:
        child.stdout.close()


def events_read_ahead(arguments: Dict[str, Any]) -> Generator[Event, None, None]:
    """binlog.events(**arguments), read and parsed by a child process while the caller applies;
    closing the generator stops the child. A child that dies or falls silent raises SourceError."""
    child = _start(arguments)
    messages: "queues.Queue[Tuple[str, Any]]" = queues.Queue(QUEUED_CHUNKS)
    assert child.stdout is not None
    threading.Thread(target=_pump, args=(child.stdout, messages), name="binlog-pump", daemon=True).start()
    heard = time.monotonic()
    try:
        while True:
            try:
                kind, body = messages.get(timeout=1.0)
            except queues.Empty:
                if time.monotonic() - heard >= STUCK_SECONDS:
                    raise SourceError(
                        f"the binlog reader (pid {child.pid}) has sent nothing for {STUCK_SECONDS:.0f}s; stopped it"
                    ) from None
                continue
            heard = time.monotonic()
            if kind == "events":
                yield from body
            elif kind == "end":
                return
            elif kind == "eof":
                raise SourceError(f"the binlog reader ended unexpectedly ({_ending(child)})")
            elif kind == "error":
                raise SourceError(f"reading the binlog: {body}")
    finally:
        _stop(child)


def _ending(child: subprocess.Popen) -> str:
    try:
        code: Optional[int] = child.wait(2)
    except subprocess.TimeoutExpired:
        return "its output closed"
    if code is not None and code < 0:
        return f"killed by signal {-code}"
    return f"exit code {code}"


if __name__ == "__main__":
    child_main()
