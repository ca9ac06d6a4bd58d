"""Bad input: one line naming what failed, exit code 1, no traceback, no password."""

import json

import pytest

from tests.e2e.stack import TABLE_WAIT, run_job


def assert_one_line_error(run, *fragments):
    assert run.code == 1, run.output[-2000:]
    errors = [line for line in run.output.splitlines() if line.startswith("mysql2dynamodb: error:")]
    assert len(errors) == 1, run.output[-2000:]
    for fragment in fragments:
        assert fragment in errors[0]
    assert "Traceback" not in run.output


@pytest.fixture(scope="module")
def small_db(stack):
    stack.fresh_database(
        "bad_input", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", "INSERT INTO t VALUES (1, 'a'), (2, 'b')"
    )
    return "bad_input"


def test_unreachable_mysql(stack, tmp_path):
    run = run_job(stack, ["--database", "x", "--mysql-port", "1"], tmp_path, spawn=True)  # the exit status itself
    assert_one_line_error(run, "cannot connect to MySQL at 127.0.0.1:1")


def test_wrong_password_is_named_but_never_printed(stack, tmp_path):
    run = run_job(stack, ["--database", "x"], tmp_path, env={"MYSQL_PASSWORD": "wrong-secret-123"}, spawn=True)
    assert_one_line_error(run, "cannot connect to MySQL", "(1045)", "Access denied")
    assert "wrong-secret-123" not in run.output


def test_unknown_database(stack, small_db, tmp_path):
    run = run_job(stack, ["--database", "no_such_db"], tmp_path)
    assert_one_line_error(run, "unknown database 'no_such_db'")


def test_system_schema_is_refused(stack, tmp_path):
    run = run_job(stack, ["--database", "mysql"], tmp_path)
    assert_one_line_error(run, "'mysql' is a system schema")


def test_unreachable_dynamodb_endpoint(stack, small_db, tmp_path):
    run = run_job(stack, ["--database", small_db, "--dynamodb-endpoint", "http://127.0.0.1:1"], tmp_path)
    assert_one_line_error(run, "DynamoDB endpoint http://127.0.0.1:1", "EndpointConnectionError")


def test_unknown_config_key(stack, tmp_path):
    conf = tmp_path / "bad.json"
    conf.write_text(json.dumps({"dynamodb": {"endpoint": "x"}}))
    run = run_job(stack, ["--database", "x", "--conf", str(conf)], tmp_path)
    assert_one_line_error(run, "unknown config key 'dynamodb.endpoint'", str(conf))


def test_existing_table_with_another_key_is_left_untouched(stack, small_db, tmp_path):
    client = stack.dynamodb()
    client.create_table(
        TableName="bad_input_t",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "other", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}],
    )
    client.get_waiter("table_exists").wait(TableName="bad_input_t", WaiterConfig=TABLE_WAIT)
    run = run_job(stack, ["--database", small_db], tmp_path)
    assert run.code == 1
    result = run.table("bad_input.t")
    assert result["status"] == "failed"
    assert "exists with key HASH other (S), but bad_input.t needs HASH id (S)" in result["error"]
    assert client.scan(TableName="bad_input_t")["Count"] == 0
    client.delete_table(TableName="bad_input_t")


@pytest.mark.parametrize(
    "override, fragment",
    [
        ('{"tables": {"bad_input.tt": {"exclude_columns": ["v"]}}}', "conf tables key 'bad_input.tt' names no table"),
        ('{"tables": {"bad_input.t": {"exclude_columns": ["vv"]}}}', "tables.bad_input.t.exclude_columns names"),
    ],
)
def test_an_override_naming_what_is_not_there_stops_before_anything_is_written(
    stack, small_db, tmp_path, override, fragment
):
    """Issue 19, defect 6: a misspelt table or column in an override (a PII column meant to stay
    out) is an error, not a silent migration of everything."""
    conf = tmp_path / "conf.json"
    conf.write_text(override)
    from tests.e2e.test_catchup_trust import drop_targets

    drop_targets(stack, "bad_input_t")
    client = stack.dynamodb()
    run = run_job(stack, ["--database", small_db, "--conf", str(conf)], tmp_path)
    assert_one_line_error(run, fragment)
    assert "bad_input_t" not in client.list_tables(Limit=100)["TableNames"]
