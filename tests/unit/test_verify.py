import boto3
import pytest
from botocore.stub import Stubber

from jobs.dynamodb.verify import scan_digests
from jobs.errors import TaskError, one_line
from jobs.load.spec import VerifySpec
from mapping.items import ItemLayout


def spec():
    return VerifySpec("shop_orders", None, ItemLayout(("id", "v"), "id", None, ("id",)))


def client():
    return boto3.session.Session().client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_a_table_gone_during_verification_is_one_line_naming_it():
    dynamodb = client()
    with Stubber(dynamodb) as stub:
        stub.add_client_error("scan", service_error_code="ResourceNotFoundException", service_message="not found")
        with pytest.raises(TaskError) as raised:
            list(scan_digests(0, 1, spec(), client=dynamodb))
    assert one_line(raised.value).startswith("DynamoDB table shop_orders is gone")


def test_an_attribute_that_is_not_a_string_is_a_difference_not_an_error():
    dynamodb = client()
    with Stubber(dynamodb) as stub:
        items = [{"id": {"S": "1"}, "v": {"S": "a"}}, {"id": {"S": "2"}, "v": {"N": "42"}}]
        stub.add_response("scan", {"Items": items})
        (plain, edited) = list(scan_digests(0, 1, spec(), client=dynamodb))
    assert plain[0] == '["1"]' and edited[0] == '["2"]' and plain[1] != edited[1]
