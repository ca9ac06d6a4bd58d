"""Warm throughput against moto's DynamoDB (in process), with every call recorded."""

import dataclasses
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from jobs.config import DynamoDBConfig
from jobs.dynamodb import tables as dynamo
from mapping.budget import warm_throughput_request
from mapping.keys import KeySchema


class Recording:
    """The real (moto) client, with the calls that change a table written down."""

    def __init__(self, client):
        self._client = client
        self.calls = []

    def create_table(self, **kwargs):
        self.calls.append(("CreateTable", kwargs))
        return self._client.create_table(**kwargs)

    def update_table(self, **kwargs):
        self.calls.append(("UpdateTable", kwargs))
        return self._client.update_table(**kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def plan(name):
    return SimpleNamespace(
        target=name, name=f"db.{name}", key=KeySchema("id", None, "id", (), "primary key"), model=None
    )


@pytest.fixture
def client(monkeypatch):
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "x"),
        ("AWS_SECRET_ACCESS_KEY", "x"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield Recording(boto3.client("dynamodb", region_name="us-east-1"))


def ensure(client, name, **settings):
    config = dataclasses.replace(DynamoDBConfig(), **settings)
    failures = []
    ready = dynamo.ensure_tables(client, [plan(name)], config, lambda p, e: failures.append(str(e)))
    assert failures == []
    return ready[name]


def warm_of(client, name):
    return client.describe_table(TableName=name)["Table"]["WarmThroughput"]


def test_create_table_carries_warm_throughput_when_asked(client):
    outcome = ensure(client, "warm_new", target_wcu=20000)
    (call,) = [c for c in client.calls if c[0] == "CreateTable"]
    assert call[1]["WarmThroughput"] == {"WriteUnitsPerSecond": 20000}
    assert outcome["action"] == "created, pre-warmed to 20000 WCU/s"
    assert warm_of(client, "warm_new")["WriteUnitsPerSecond"] == 20000
    assert dynamo.warm_write_units(outcome["table"]) == 20000
    rate = dynamo.table_write_rate(outcome["table"], dataclasses.replace(DynamoDBConfig(), target_wcu=20000))
    assert (rate.start, rate.ceiling) == (20000, 20000)  # pre-warmed: paced at the target from the start


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"target_wcu": 3000},
        {"target_wcu": 20000, "warm_throughput": "none"},
        {"target_wcu": 20000, "billing_mode": "PROVISIONED"},
    ],
)
def test_no_warm_throughput_unless_asked_above_the_default(client, settings):
    ensure(client, "plain", **settings)
    (call,) = [c for c in client.calls if c[0] == "CreateTable"]
    assert "WarmThroughput" not in call[1]


def test_an_existing_tables_warm_throughput_is_raised_only_when_asked_and_never_lowered(client):
    ensure(client, "kept", target_wcu=30000)
    client.calls.clear()
    ensure(client, "kept", target_wcu=20000, warm_throughput="all")  # lower than it has: untouched
    ensure(client, "kept", target_wcu=40000)  # "new": existing tables are left alone
    assert client.calls == [] and warm_of(client, "kept")["WriteUnitsPerSecond"] == 30000
    outcome = ensure(client, "kept", target_wcu=40000, warm_throughput="all")
    assert client.calls == [("UpdateTable", {"TableName": "kept", "WarmThroughput": {"WriteUnitsPerSecond": 40000}})]
    assert outcome["action"] == "reused, warm throughput raised to 40000 WCU/s"
    assert warm_of(client, "kept")["WriteUnitsPerSecond"] == 40000


def test_the_request_rule():
    assert warm_throughput_request(True, 20000, "new", False, None) == 20000
    assert warm_throughput_request(True, 20000, "all", True, 4000) == 20000
    assert warm_throughput_request(True, 20000, "all", True, 25000) is None
    assert warm_throughput_request(True, 20000, "new", True, 4000) is None
    assert warm_throughput_request(False, 20000, "all", False, None) is None
    assert warm_throughput_request(True, 4000, "all", False, None) is None
