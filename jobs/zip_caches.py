"""Keeps PySpark's per-task `importlib.invalidate_caches()` cheap on Python 3.10 and 3.11.

PySpark's worker calls `importlib.invalidate_caches()` at the start of every task. On Python
3.10 and 3.11 that makes every `zipimporter` on `sys.path` read its archive's whole directory
again, and Spark puts `pyspark.zip` and py4j's zip there: tens of milliseconds of CPU per task,
for archives that never change while the worker runs (CPython gh-103200, fixed in 3.12 by
reading lazily). Installed when the `jobs` package is imported, so in each worker process
the first task that runs our code installs it for every later task of that worker: an
archive is read again only when its size or modification time changed.
"""

import os
import sys
import zipimport
from typing import Dict, Tuple

_stamps: Dict[str, Tuple[int, int]] = {}


def install() -> None:
    if sys.version_info >= (3, 12) or getattr(zipimport.zipimporter.invalidate_caches, "_keeps_unchanged", False):
        return
    read_again = zipimport.zipimporter.invalidate_caches

    def invalidate_caches(self) -> None:
        try:
            stat = os.stat(self.archive)
        except OSError:
            read_again(self)  # gone: the original clears it
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if _stamps.get(self.archive) != stamp:
            read_again(self)
            _stamps[self.archive] = stamp

    invalidate_caches._keeps_unchanged = True  # type: ignore[attr-defined]
    zipimport.zipimporter.invalidate_caches = invalidate_caches  # type: ignore[method-assign]
