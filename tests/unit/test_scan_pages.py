"""Scan pages read as DynamoDB sends them (json.loads), not walked by botocore's parser: the same
items and paging keys for every type the job meets, errors still botocore's."""

import json

import botocore.session
import pytest
from botocore import parsers
from botocore.awsrequest import AWSResponse

from jobs.dynamodb.tables import make_client, raw_scan_page

ITEMS = [
    {"id": {"S": "1"}, "note": {"S": 'say "hi" é🙂'}, "gone": {"NULL": True}},
    {"id": {"S": "2"}, "n": {"N": "12.50"}, "flag": {"BOOL": False}},
    {"id": {"S": "3"}, "list": {"L": [{"S": "a"}, {"N": "1"}]}, "map": {"M": {"k": {"SS": ["x", "y"]}}}},
]
PAGE = {"Items": ITEMS, "Count": 3, "ScannedCount": 3, "LastEvaluatedKey": {"id": {"S": "3"}}}


def botocore_parse(body: bytes, status: int = 200) -> dict:
    operation = botocore.session.get_session().get_service_model("dynamodb").operation_model("Scan")
    response = {"body": body, "headers": {}, "status_code": status}
    customized: dict = {}
    raw_scan_page(response, customized)
    parsed = parsers.create_parser("json").parse(response, operation.output_shape)
    parsed.update(customized)
    return parsed


def test_a_page_read_raw_equals_botocores_parse():
    body = json.dumps(PAGE).encode()
    operation = botocore.session.get_session().get_service_model("dynamodb").operation_model("Scan")
    expected = parsers.create_parser("json").parse(
        {"body": body, "headers": {}, "status_code": 200}, operation.output_shape
    )
    got = botocore_parse(body)
    for field in ("Items", "Count", "ScannedCount", "LastEvaluatedKey"):
        assert got[field] == expected[field], field


def test_an_error_is_left_to_botocore():
    body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "message": "gone"})
    parsed = botocore_parse(body.encode(), status=400)
    assert parsed["Error"]["Code"] == "ResourceNotFoundException" and "Items" not in parsed


class Body:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_):
        yield self.data


@pytest.fixture
def answered_client(monkeypatch):
    """make_client's client, its HTTP answered in process (no server)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "unit")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "unit")
    client = make_client("http://127.0.0.1:9", "us-east-1")
    body = json.dumps(dict(PAGE, NotInTheModel=1)).encode()  # botocore's parser would drop it

    def answer(request, **_):
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, Body(body))

    client.meta.events.register("before-send.dynamodb.Scan", answer)
    return client


def test_the_jobs_clients_read_scan_pages_raw(answered_client):
    page = answered_client.scan(TableName="t")
    assert page["Items"] == ITEMS and page["LastEvaluatedKey"] == {"id": {"S": "3"}}
    assert page["NotInTheModel"] == 1  # read raw, not walked by the model
