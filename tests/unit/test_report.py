import json

from jobs.report import COMPLETED, COMPLETED_WITH_REJECTS, FAILED, PLANNED, NotMigrated, Report, TableResult


def result(**kwargs):
    base = {
        "source": "d.t",
        "target": "d_t",
        "key": "HASH id [primary key]",
        "status": COMPLETED,
        "rows_read": 10,
        "items_written": 10,
        "seconds": 2.0,
    }
    base.update(kwargs)
    return TableResult(**base)


def test_exit_codes():
    assert Report([result()]).exit_code() == 0
    assert Report([result(), result(status=COMPLETED_WITH_REJECTS, rejected=1)]).exit_code() == 3
    assert Report([result(status=COMPLETED_WITH_REJECTS), result(status=FAILED)]).exit_code() == 1
    assert Report([result(status=PLANNED)], dry_run=True).exit_code() == 0
    # A dry run says whether the real run could go: a table that cannot be planned or split fails it.
    assert Report([result(status=FAILED)], dry_run=True).exit_code() == 1
    assert Report([result()], error="nothing to migrate").exit_code() == 1
    assert Report([], error="nothing to migrate", dry_run=True).exit_code() == 1


def test_text_and_json_carry_the_same_numbers():
    verified = {"match": True, "source_rows": 10, "dynamodb_items": 10}
    report = Report(
        [result(verification=verified), result(source="d.u", status=FAILED, error="boom", rows_read=0, items_written=0)]
    )
    text = report.to_text()
    assert "d.t" in text and "yes (10)" in text and "failed d.u: boom" in text
    assert "total: 2 table(s), 10 rows read, 10 items written, 0 rejected; exit code 1" in text
    body = json.loads(report.to_json())
    assert body["totals"] == {
        "rows_read": 10,
        "items_written": 10,
        "rejected": 0,
        "merged_rows": 0,
        "duplicate_rows": 0,
    }
    assert body["tables"][0]["items_per_second"] == 5.0 and body["exit_code"] == 1


def test_objects_not_migrated_and_run_errors_are_shown():
    report = Report(
        [],
        not_migrated=[NotMigrated("d.v", "d", "v", "VIEW", "a view holds no rows")],
        error="nothing to migrate: database(s) d hold no tables",
    )
    text = report.to_text()
    assert "not migrated d.v (VIEW): a view holds no rows" in text and "error: nothing to migrate" in text
    body = json.loads(report.to_json())
    assert body["not_migrated"][0]["kind"] == "VIEW" and body["error"].startswith("nothing") and body["exit_code"] == 1


def test_a_table_records_what_its_finished_partitions_wrote():
    from jobs.load.write_task import sum_stats

    line = TableResult(source="d.t")
    totals = sum_stats([{"rows": 5, "written": 4, "rejected": 1}, {"rows": 3, "written": 3, "merged_rows": 1}])
    line.record_load(totals, 2, "rejects/d/t", 1.5)
    assert (line.rows_read, line.items_written, line.rejected, line.merged_rows, line.partitions_finished) == (
        8,
        7,
        1,
        1,
        2,
    )
    assert line.rejects_path == "rejects/d/t" and line.seconds == 1.5


def test_a_secret_given_on_the_command_line_is_not_copied_into_the_report():
    from jobs.cli import redacted

    argv = ["--database", "shop", "--set", "mysql.password=hunter2", "--set", "mysql.port=3306"]
    assert redacted(argv) == ["--database", "shop", "--set", "mysql.password=***", "--set", "mysql.port=3306"]


def test_live_verification_is_summed_up_with_its_differing_keys():
    from mapping.binlog import Position
    from mapping.live_verify import DIFFERENT, REAL, TableVerification

    table = TableVerification("shop.accounts")
    table.record(Position("binlog.000002", 400), {'["7"]': (REAL, DIFFERENT)}, whole=100)
    report = Report(
        error="live verification: DynamoDB differs from the source in shop.accounts (see the examples)",
        catch_up={
            "row_changes": 3,
            "start": {"binlog_file": "binlog.000002", "binlog_position": 4},
            "end": {"binlog_file": "binlog.000002", "binlog_position": 400},
            "seconds": 1.0,
            "stopped": "signal",
            "verification": {
                "summary": "DynamoDB differs from the source in shop.accounts (see the examples)",
                "tables": {"shop.accounts": table.as_report(examples=5)},
            },
        },
    )
    text = report.to_text()
    assert "live verification: DynamoDB differs from the source in shop.accounts" in text
    line = 'shop.accounts: differs, through -, 1 whole + 0 round(s), 100 keys compared; attributes differ at key ["7"]'
    assert line in text
    assert report.exit_code() == 1


def test_cascading_foreign_keys_are_one_line_in_the_plan_and_catch_up_and_quiet_in_a_load():
    keys = ["foreign key f1 (a) -> s.p (id) ON DELETE CASCADE ON UPDATE RESTRICT: catch-up derives ..."]
    keys.append("foreign key f2 (b) -> s.q (id) ON DELETE SET NULL ON UPDATE RESTRICT: catch-up derives ...")
    load = Report(tables=[TableResult(source="s.c", status=COMPLETED, foreign_keys=keys)])
    assert "foreign key" not in load.to_text()
    assert load.to_text(verbose=True).count("note s.c: foreign key") == 2
    plan = Report(dry_run=True, tables=[TableResult(source="s.c", status=PLANNED, foreign_keys=keys)])
    (line,) = [x for x in plan.to_text().splitlines() if "foreign key" in x]
    assert line.endswith(
        "foreign key f1 (a) -> s.p (id) ON DELETE CASCADE ON UPDATE RESTRICT; foreign key f2 (b) "
        "-> s.q (id) ON DELETE SET NULL ON UPDATE RESTRICT"
    )
    catch_up = Report(catch_up={}, tables=[TableResult(source="s.c", status=COMPLETED, foreign_keys=keys)])
    assert sum("foreign key" in x for x in catch_up.to_text().splitlines()) == 1
