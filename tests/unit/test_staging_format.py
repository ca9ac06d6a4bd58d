"""Golden lines: exactly what import mode stages for every value shape (ImportTable's DynamoDB JSON)."""

import gzip
import json

import pytest

from jobs.dynamodb.staging import StagedObject
from mapping.items import ItemLayout, build_item, import_line, to_wire

LAYOUT = ItemLayout(("id", "name", "blob", "note", "_sort_key"), "id", "_sort_key", ("id", "name", "day"))


def staged(row, layout=LAYOUT):
    item, _, reason = build_item(row, layout)
    assert reason is None
    return import_line(to_wire(item))


@pytest.mark.parametrize(
    "row, line",
    [
        (
            ["1", "", None, "x", "a#b"],  # empty string kept, NULL absent, synthesised RANGE as written
            '{"Item":{"id":{"S":"1"},"name":{"S":""},"note":{"S":"x"},"_sort_key":{"S":"a#b"}}}',
        ),
        (
            ["2", "ő 中文 😀", "AAEC/w==", 'tab\there "quoted" back\\slash\nnew line', "k\\#1#2"],
            '{"Item":{"id":{"S":"2"},"name":{"S":"ő 中文 😀"},"blob":{"S":"AAEC/w=="},'
            '"note":{"S":"tab\\there \\"quoted\\" back\\\\slash\\nnew line"},"_sort_key":{"S":"k\\\\#1#2"}}}',
        ),
    ],
)
def test_golden_lines(row, line):
    assert staged(row) == line
    assert json.loads(line)["Item"] == to_wire(build_item(row, LAYOUT)[0])


def test_null_as_null_is_a_null_attribute():
    layout = ItemLayout(("id", "name"), "id", None, ("id",), null_as="null")
    assert staged(["7", None], layout) == '{"Item":{"id":{"S":"7"},"name":{"NULL":true}}}'


def test_row_id_key():
    layout = ItemLayout(("a", "_row_id"), "_row_id", None, ("_row_id",), row_id=True)
    assert staged(["x", "9f86d081#2"], layout) == '{"Item":{"a":{"S":"x"},"_row_id":{"S":"9f86d081#2"}}}'


def test_staged_object_is_gzip_json_lines_counted_in_uncompressed_bytes(tmp_path):
    path = str(tmp_path / "t" / "part-00003.json.gz")
    lines = [staged(["1", "ő", None, None, "r"]), staged(["2", "b", None, None, "r"])]
    with StagedObject(path) as staging:
        for row in (["1", "ő", None, None, "r"], ["2", "b", None, None, "r"]):
            staging.put(to_wire(build_item(row, LAYOUT)[0]))
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        assert handle.read() == "".join(line + "\n" for line in lines)
    assert staging.written == 2
    assert staging.staged_bytes == sum(len((line + "\n").encode("utf-8")) for line in lines)


def test_a_failed_partition_stages_nothing(tmp_path):
    path = str(tmp_path / "part-00000.json.gz")
    with pytest.raises(RuntimeError), StagedObject(path) as staging:
        staging.put(to_wire({"id": "1"}))
        raise RuntimeError("read cut")
    assert not (tmp_path / "part-00000.json.gz").exists()
