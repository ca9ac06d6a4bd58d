"""Issue 19, defect 1: a user who cannot read a whole database would migrate, and verify, only
what information_schema shows it. Each grant shape stops the run before anything is written;
the opt-in goes on, lists what it could not see and does not exit 0."""

import pytest

from tests.e2e.stack import TABLE_WAIT, run_job

PASSWORD = "vis-pw-3Kq"
USERS = {
    # table and column grants: `secret` and colpriv.ssn are invisible
    "vis_tables": ["GRANT SELECT ON tiny.a TO {user}", "GRANT SELECT (id, pub) ON tiny.colpriv TO {user}"],
    # a default role that grants one table of the three
    "vis_role": ["GRANT vis_one_table TO {user}", "SET DEFAULT ROLE vis_one_table FOR {user}"],
    # a default role that grants the whole database: enough
    "vis_db_role": ["GRANT vis_whole_db TO {user}", "SET DEFAULT ROLE vis_whole_db FOR {user}"],
}


@pytest.fixture(scope="module")
def tiny(stack):
    conn = stack.fresh_database(
        "tiny",
        "CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(10))",
        "CREATE TABLE colpriv (id INT PRIMARY KEY, pub VARCHAR(10), ssn VARCHAR(11))",
        "CREATE TABLE secret (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO a VALUES (1, 'a')",
        "INSERT INTO colpriv VALUES (1, 'p', '123-45-6789')",
        "INSERT INTO secret VALUES (1, 's')",
    )
    with conn.cursor() as cur:
        for role in ("vis_one_table", "vis_whole_db"):
            cur.execute(f"DROP ROLE IF EXISTS {role}")
            cur.execute(f"CREATE ROLE {role}")
        cur.execute("GRANT SELECT ON tiny.a TO vis_one_table")
        cur.execute("GRANT SELECT ON tiny.* TO vis_whole_db")
        for name, grants in USERS.items():
            user = f"'{name}'@'127.0.0.1'"
            cur.execute(f"DROP USER IF EXISTS {user}")
            cur.execute(f"CREATE USER {user} IDENTIFIED BY '{PASSWORD}'")
            for grant in grants:
                cur.execute(grant.format(user=user))
    conn.close()
    return "tiny"


def drop_targets(stack):
    client = stack.dynamodb()
    for target in ("tiny_a", "tiny_colpriv", "tiny_secret"):
        if target in client.list_tables(Limit=100)["TableNames"]:
            client.delete_table(TableName=target)
            client.get_waiter("table_not_exists").wait(TableName=target, WaiterConfig=TABLE_WAIT)
    return client


def run_as(stack, user, tmp_path, *extra):
    args = ["--database", "tiny", "--mysql-user", user, "--no-verify", *extra]
    return run_job(stack, args, tmp_path, env={"MYSQL_PASSWORD": PASSWORD})


@pytest.mark.parametrize(
    "user, sees", [("vis_tables", "it sees a, colpriv (columns id, pub only)"), ("vis_role", "it sees a")]
)
def test_a_user_without_select_on_the_whole_database_stops_before_anything(stack, tiny, tmp_path, user, sees):
    client = drop_targets(stack)
    run = run_as(stack, user, tmp_path)
    assert run.code == 1, run.output[-3000:]
    assert "database 'tiny': the user has no SELECT on `tiny`.*" in run.report["error"], run.report["error"]
    assert sees in run.report["error"] and "source.allow_partial_visibility" in run.report["error"]
    assert not {"tiny_a", "tiny_colpriv", "tiny_secret"} & set(client.list_tables(Limit=100)["TableNames"])


def test_a_role_granting_the_whole_database_is_enough(stack, tiny, tmp_path):
    drop_targets(stack)
    run = run_as(stack, "vis_db_role", tmp_path)
    assert run.code == 0, run.output[-3000:]
    assert {t["table"] for t in run.report["tables"]} == {"a", "colpriv", "secret"}


def test_the_opt_in_migrates_what_it_sees_lists_the_rest_and_does_not_exit_0(stack, tiny, tmp_path):
    drop_targets(stack)
    run = run_as(stack, "vis_tables", tmp_path, "--set", "source.allow_partial_visibility=true")
    assert run.code == 1, run.output[-3000:]
    assert [t["status"] for t in run.report["tables"]] == ["completed", "completed"]
    (unseen,) = run.report["not_visible"]
    assert "it sees a, colpriv (columns id, pub only)" in unseen
    assert "not visible: database 'tiny'" in run.output
