"""Executor side of import mode: one Spark partition's items as one gzip object of DynamoDB JSON.

Takes the place of the BatchWriter in the load's row loop, so rejects are decided exactly
as in write mode and a line ImportTable would refuse is never staged (AWS drops the rest of
an object after a bad line). The object is built in a local temporary file and uploaded
once complete; a retried task replaces it.
"""

import gzip
import os
import tempfile

from mapping.items import import_line


class StagedObject:
    """The writer interface of BatchWriter (put, written, counters) over a gzip file."""

    retried_items = throttle_events = collapsed_duplicates = consumed_units = 0

    def __init__(self, path: str):
        self.path = path
        self.written = 0
        self.staged_bytes = 0  # uncompressed: what ImportTable bills
        handle, self._local = tempfile.mkstemp(suffix=".json.gz")
        os.close(handle)
        self._file = gzip.open(self._local, "wt", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed by publish()

    def put(self, wire_item, size_bytes: int = 0, units: int = 0) -> None:
        line = import_line(wire_item) + "\n"
        self._file.write(line)
        self.written += 1
        self.staged_bytes += len(line.encode("utf-8"))

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        self._file.close()
        if kind is None:
            from jobs import storage

            storage.upload_file(self._local, self.path)
        elif os.path.exists(self._local):
            os.remove(self._local)
        return False
