"""PySpark's per-task importlib.invalidate_caches() re-reads no unchanged zip (Python 3.10-3.11),
and a zip that changed is read again."""

import importlib
import sys
import zipfile
import zipimport

import pytest

import jobs  # noqa: F401 - installs the change, as in a Spark worker


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="Python 3.12 reads zips lazily itself")
def test_an_unchanged_zip_is_not_read_again_and_a_changed_one_is(tmp_path, monkeypatch):
    archive = tmp_path / "shipped.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("m2d_zip_one.py", "VALUE = 1\n")
    monkeypatch.syspath_prepend(str(archive))
    assert importlib.import_module("m2d_zip_one").VALUE == 1
    reads = []
    original = zipimport._read_directory
    monkeypatch.setattr(zipimport, "_read_directory", lambda path: reads.append(path) or original(path))
    for _ in range(3):
        importlib.invalidate_caches()
    assert reads.count(str(archive)) <= 1  # the first call may record the archive's stamp
    before = reads.count(str(archive))
    with zipfile.ZipFile(archive, "a") as zipped:
        zipped.writestr("m2d_zip_two.py", "VALUE = 2\n")
    importlib.invalidate_caches()
    assert reads.count(str(archive)) == before + 1
    assert importlib.import_module("m2d_zip_two").VALUE == 2
