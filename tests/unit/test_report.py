import json

from jobs.report import COMPLETED, COMPLETED_WITH_REJECTS, FAILED, Report, TableResult


def result(**kwargs):
    base = dict(source="d.t", target="d_t", key="HASH id [primary key]", status=COMPLETED, rows_read=10,
                items_written=10, seconds=2.0)
    base.update(kwargs)
    return TableResult(**base)


def test_exit_codes():
    assert Report([result()]).exit_code() == 0
    assert Report([result(), result(status=COMPLETED_WITH_REJECTS, rejected=1)]).exit_code() == 3
    assert Report([result(status=COMPLETED_WITH_REJECTS), result(status=FAILED)]).exit_code() == 1
    assert Report([result(status=FAILED)], dry_run=True).exit_code() == 0


def test_text_and_json_carry_the_same_numbers():
    verified = {"match": True, "source_rows": 10, "dynamodb_items": 10}
    report = Report([result(verification=verified), result(source="d.u", status=FAILED, error="boom", rows_read=0,
                                                           items_written=0)])
    text = report.to_text()
    assert "d.t" in text and "yes (10)" in text and "failed d.u: boom" in text
    assert "total: 2 table(s), 10 rows read, 10 items written, 0 rejected; exit code 1" in text
    body = json.loads(report.to_json())
    assert body["totals"] == {"rows_read": 10, "items_written": 10, "rejected": 0, "duplicate_rows": 0}
    assert body["tables"][0]["items_per_second"] == 5.0 and body["exit_code"] == 1
