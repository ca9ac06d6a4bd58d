"""conf/iam's policies, proven against moto with IAM enforced: each use's policy is enough (the
run exits 0 and DynamoDB equals the source), and each of its actions is needed (the same run
with that one action removed fails).

moto's server checks every request's signature and action once INITIAL_NO_AUTH_ACTION_COUNT
requests have passed; local/moto_server.py also makes it check DynamoDB calls against the
table they name, as AWS does, so the policies' table-prefix scoping is tested too. What moto
cannot show: the CloudWatch Logs actions ImportTable needs are used by DynamoDB itself, not by
the job, so they are only checked to be present (docs/manual/iam.md says so).
"""

import contextlib
import json
import os
import signal
import sys
from typing import Callable, Dict, List, Tuple

import boto3
import pytest

from tests.e2e.stack import REPO, canonical, dynamo_items, free_port, present, run_job, source_rows, start_server

DATABASE = "iamdb"
BUCKET = "m2d-iam"
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
LOGS_ACTIONS = {
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
    "logs:PutRetentionPolicy",
}


def policy(use: str) -> dict:
    with open(os.path.join(REPO, "conf", "iam", f"{use}.json"), encoding="utf-8") as handle:
        return json.load(handle)


def render(document: dict, table_prefix: str, prefix: str) -> dict:
    """The placeholders replaced as docs/manual/iam.md tells a user to."""
    text = json.dumps(document)
    for placeholder, value in (
        ("TABLE_PREFIX", table_prefix),
        ("ACCOUNT_ID", ACCOUNT),
        ("REGION", REGION),
        ("BUCKET", BUCKET),
        ("PREFIX", prefix),
    ):
        text = text.replace(placeholder, value)
    return json.loads(text)


def actions(document: dict) -> List[str]:
    found = []
    for statement in document["Statement"]:
        listed = statement["Action"]
        found += [listed] if isinstance(listed, str) else listed
    return found


def without_action(document: dict, action: str) -> dict:
    reduced = json.loads(json.dumps(document))
    statements = []
    for statement in reduced["Statement"]:
        listed = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        kept = [a for a in listed if a != action]
        if kept:
            statements.append(dict(statement, Action=kept))
    reduced["Statement"] = statements
    return reduced


class EnforcingMoto:
    """moto with IAM on: an admin user (every action) for the test's own calls, and the
    migrator, whose one inline policy each run replaces."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        bootstrap = boto3.client(
            "iam", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
        )
        # The server's first three requests are the only ones not checked.
        bootstrap.create_user(UserName="admin")
        bootstrap.put_user_policy(
            UserName="admin",
            PolicyName="all",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        admin_key = bootstrap.create_access_key(UserName="admin")["AccessKey"]
        self.admin = self._credentials(admin_key)
        self.iam = self.client("iam")
        self.iam.create_user(UserName="migrator")
        self.migrator = self._credentials(self.iam.create_access_key(UserName="migrator")["AccessKey"])
        self.s3 = self.client("s3")
        self.dynamodb = self.client("dynamodb")
        self.s3.create_bucket(Bucket=BUCKET)

    @staticmethod
    def _credentials(key: dict) -> Dict[str, str]:
        return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, **self.admin)

    def allow(self, document: dict) -> None:
        self.iam.put_user_policy(UserName="migrator", PolicyName="m2d", PolicyDocument=json.dumps(document))

    def run(self, stack, args: List[str], tmp_path):
        """The job as the migrator: every S3 and DynamoDB call to this server."""
        env = {
            "AWS_ACCESS_KEY_ID": self.migrator["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": self.migrator["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
        }
        return run_job(stack, args + ["--dynamodb-endpoint", self.endpoint], tmp_path, env=env)

    def report(self, key: str) -> dict:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


@pytest.fixture(scope="module")
def moto(stack):
    port = free_port()
    server = start_server(
        [sys.executable, os.path.join(REPO, "local", "moto_server.py"), "-H", "127.0.0.1", "-p", str(port)],
        port,
        env=dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3"),
    )
    yield EnforcingMoto(f"http://127.0.0.1:{port}")
    server.send_signal(signal.SIGINT)
    server.wait(10)


@pytest.fixture(scope="module")
def source(stack):
    rows = [(i, f"order {i}", None if i % 7 == 0 else f"{i * 1.5:.2f}") for i in range(1, 301)]
    stack.fresh_database(
        DATABASE,
        "CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(40), amount DECIMAL(8,2))",
        "CREATE TABLE events (at DATETIME(3), what VARCHAR(20))",  # keyless: items named by content
        "CREATE TABLE notes (id INT PRIMARY KEY, body LONGTEXT)",  # one row over 400 KB: a reject on S3
        rows={
            "orders": rows,
            "events": [("2024-01-0%d 10:00:00.125" % d, f"e{d}") for d in range(1, 8)],
            "notes": [(1, "short"), (2, "x" * 450_000)],
        },
    )


def equal_to_source(stack, moto: EnforcingMoto, table_prefix: str) -> bool:
    """Every row an item, but the one too big for DynamoDB, which is a reject on S3."""
    tables = {
        table: canonical(dynamo_items(moto.dynamodb, f"{table_prefix}{DATABASE}_{table}"))
        for table in ("orders", "events", "notes")
    }
    expected_orders = canonical(present(r) for r in source_rows(stack, DATABASE, "orders"))
    return (
        tables["orders"] == expected_orders
        and len(tables["events"]) == len(source_rows(stack, DATABASE, "events"))
        and tables["notes"] == canonical([{"id": "1", "body": "short"}])
    )


Outcome = Tuple[bool, str]
CHANGES: List[str] = []  # catch-up runs so far: each changes rows of its own


def s3_paths(prefix: str) -> List[str]:
    base = f"s3://{BUCKET}/{prefix}"
    return ["--state", f"{base}/state", "--rejects", f"{base}/rejects"]


def in_turn(moto: EnforcingMoto, stack, tmp_path, steps) -> Outcome:
    """Each step's run must end with its exit code (3: completed with rejects)."""
    for name, args, code, before in steps:
        if before:
            before()
        run = moto.run(stack, args, tmp_path)
        if run.code != code:
            return False, f"{name}: exit {run.code}, expected {code}: {run.output}"
    return True, ""


def write_load(stack, moto: EnforcingMoto, tmp_path, tag: str) -> Outcome:
    """A load, the same load again (a rerun replaces the earlier rejects), then an item edited
    behind the job's back found and mended by --verify-only --repair."""
    table_prefix, prefix = f"{tag}_", f"runs/{tag}"
    common = ["--database", DATABASE, "--set", f"naming.prefix={table_prefix}", *s3_paths(prefix)]

    def edit() -> None:
        orders = f"{table_prefix}{DATABASE}_orders"
        moto.dynamodb.put_item(TableName=orders, Item={"id": {"S": "5"}, "note": {"S": "edited"}})

    passed, detail = in_turn(
        moto,
        stack,
        tmp_path,
        [
            ("load", common + ["--report", f"s3://{BUCKET}/{prefix}/load.json"], 3, None),
            ("rerun", common + ["--report", f"s3://{BUCKET}/{prefix}/load.json"], 3, None),
            ("repair", common + ["--verify-only", "--repair", "--report", f"s3://{BUCKET}/{prefix}/r.json"], 0, edit),
        ],
    )
    return (passed and equal_to_source(stack, moto, table_prefix)), detail or "not equal after the repair"


def import_load(stack, moto: EnforcingMoto, tmp_path, tag: str) -> Outcome:
    """An import, then the same import again after its tables were dropped (a rerun replaces
    what the earlier run staged and rejected)."""
    table_prefix, prefix = f"{tag}_", f"runs/{tag}"
    args = (
        ["--database", DATABASE, "--set", f"naming.prefix={table_prefix}", *s3_paths(prefix)]
        + ["--load-mode", "import", "--staging", f"s3://{BUCKET}/{prefix}/staging"]
        + ["--report", f"s3://{BUCKET}/{prefix}/load.json"]
    )

    def drop_tables() -> None:
        for table in ("orders", "events", "notes"):
            with contextlib.suppress(moto.dynamodb.exceptions.ResourceNotFoundException):
                moto.dynamodb.delete_table(TableName=f"{table_prefix}{DATABASE}_{table}")

    passed, detail = in_turn(moto, stack, tmp_path, [("import", args, 3, None), ("import again", args, 3, drop_tables)])
    return (passed and equal_to_source(stack, moto, table_prefix)), detail or "not equal after the import"


def catch_up(stack, moto: EnforcingMoto, tmp_path, tag: str, load_prefix: str) -> Outcome:
    """Changes on the source (keyed and keyless), then --catch-up --until-verified from the
    load's report, the source fenced; into a state folder of its own."""
    CHANGES.append(tag)
    conn = stack.connect(DATABASE)
    with conn.cursor() as cur:
        cur.execute("UPDATE orders SET note = CONCAT(note, '+') WHERE id % 50 = 1")
        cur.execute("DELETE FROM orders WHERE id = %s", (290 - len(CHANGES),))
        cur.execute("INSERT INTO orders VALUES (%s, 'new', 1.00)", (2000 + len(CHANGES),))
        cur.execute("UPDATE events SET what = CONCAT(what, '+') WHERE what LIKE 'e1%%'")
        cur.execute("SET GLOBAL read_only = ON")
    try:
        run = moto.run(
            stack,
            ["--database", DATABASE, "--set", f"naming.prefix={load_prefix}_"]
            + s3_paths(f"runs/{load_prefix}/{tag}")
            + ["--catch-up", "--until-verified", "--max-seconds", "60"]
            + ["--from-report", f"s3://{BUCKET}/runs/{load_prefix}/load.json"]
            + ["--report", f"s3://{BUCKET}/runs/{load_prefix}/{tag}/catch-up.json"],
            tmp_path,
        )
    finally:
        with conn.cursor() as cur:
            cur.execute("SET GLOBAL read_only = OFF")
    if run.code != 0:
        return False, f"catch-up exit {run.code}: {run.output}"
    return equal_to_source(stack, moto, f"{load_prefix}_"), "not equal after the catch-up"


DENIED = ("AccessDenied", "Access Denied", "403")


def prove(moto: EnforcingMoto, use: str, scenario: Callable[[str], Outcome], prefixes: Callable[[str], tuple]) -> None:
    """Enough: the scenario passes with the policy. Needed: without any one of its actions,
    it fails, and for being refused (not for another reason)."""
    document = policy(use)
    moto.allow(render(document, *prefixes("all")))
    passed, detail = scenario("all")
    assert passed, f"{use}.json is not enough: {detail[-3000:]}"
    unneeded, failed_otherwise = [], []
    for number, action in enumerate(a for a in actions(document) if a not in LOGS_ACTIONS):
        tag = f"no{number}"
        moto.allow(render(without_action(document, action), *prefixes(tag)))
        passed, detail = scenario(tag)
        if passed:
            unneeded.append(action)
        elif not any(word in detail for word in DENIED):
            failed_otherwise.append((action, detail[-1500:]))
    assert not unneeded, f"{use}.json allows actions its runs do not need: {unneeded}"
    assert not failed_otherwise, f"without these actions the runs failed, but not for being refused: {failed_otherwise}"


def test_the_load_policy_is_enough_and_each_action_needed(stack, moto, source, tmp_path):
    prove(
        moto, "load", lambda tag: write_load(stack, moto, tmp_path, f"l{tag}"), lambda tag: (f"l{tag}_", f"runs/l{tag}")
    )


def test_the_import_policy_is_enough_and_each_action_needed(stack, moto, source, tmp_path):
    assert set(actions(policy("import"))) >= LOGS_ACTIONS  # ImportTable's own log group: not provable here
    prove(
        moto,
        "import",
        lambda tag: import_load(stack, moto, tmp_path, f"i{tag}"),
        lambda tag: (f"i{tag}_", f"runs/i{tag}"),
    )


def test_the_catch_up_policy_is_enough_and_each_action_needed(stack, moto, source, tmp_path):
    moto.allow(render(policy("load"), "cu_", "runs/cu"))
    loaded, detail = write_load(stack, moto, tmp_path, "cu")
    assert loaded, detail[-3000:]
    prove(moto, "catch-up", lambda tag: catch_up(stack, moto, tmp_path, tag, "cu"), lambda tag: ("cu_", "runs/cu"))


@pytest.mark.parametrize("use", ["load", "import", "catch-up"])
def test_every_placeholder_is_one_the_manual_names(use):
    rendered = json.dumps(render(policy(use), "t_", "p"))
    assert not any(word in rendered for word in ("TABLE_PREFIX", "ACCOUNT_ID", "REGION", "BUCKET", "PREFIX"))
    assert all(
        statement["Effect"] == "Allow" and statement["Resource"] != "*" for statement in policy(use)["Statement"]
    )
