"""ImportTable's driver side with a stub client: arguments, waiting, and what counts as failed."""

from types import SimpleNamespace

import pytest

from jobs.config import DynamoDBConfig
from jobs.dynamodb import importer
from jobs.errors import TargetError
from mapping.keys import KeySchema

PLAN = SimpleNamespace(
    target="shop_orders", key=KeySchema("id", "_sort_key", "id", ("a", "b"), "primary key"), model=None
)


def test_import_arguments_name_only_our_part_files():
    arguments = importer.import_arguments(PLAN, DynamoDBConfig(), "s3://bucket/stage/shop/orders", "tok")
    assert arguments["S3BucketSource"] == {"S3Bucket": "bucket", "S3KeyPrefix": "stage/shop/orders/part-"}
    assert (arguments["InputFormat"], arguments["InputCompressionType"], arguments["ClientToken"]) == (
        "DYNAMODB_JSON",
        "GZIP",
        "tok",
    )
    creation = arguments["TableCreationParameters"]
    assert creation["TableName"] == "shop_orders" and creation["BillingMode"] == "PAY_PER_REQUEST"
    assert [k["AttributeName"] for k in creation["KeySchema"]] == ["id", "_sort_key"]
    provisioned = importer.import_arguments(
        PLAN, DynamoDBConfig(billing_mode="PROVISIONED", write_capacity=50), "s3://bucket/x", "tok"
    )["TableCreationParameters"]
    assert provisioned["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 50}


class Imports:
    def __init__(self, *statuses):
        self.statuses = list(statuses)
        self.calls = 0

    def describe_import(self, ImportArn):
        self.calls += 1
        return {"ImportTableDescription": dict(self.statuses.pop(0), ImportArn=ImportArn)}


def test_waits_until_the_import_leaves_in_progress_with_growing_pauses():
    pauses, seen = [], []
    client = Imports({"ImportStatus": "IN_PROGRESS"}, {"ImportStatus": "IN_PROGRESS"}, {"ImportStatus": "COMPLETED"})
    done = importer.wait_import(client, "arn:i", 60, seen.append, pause=pauses.append)
    assert done["ImportStatus"] == "COMPLETED" and client.calls == 3
    assert pauses == [1.0, 2.0] and len(seen) == 2


def test_gives_up_after_the_wait_limit_naming_resume():
    client = Imports(*[{"ImportStatus": "IN_PROGRESS"}] * 3)
    with pytest.raises(TargetError, match="still IN_PROGRESS after 0s .* --resume"):
        importer.wait_import(client, "arn:i", 0, lambda d: None, pause=lambda s: None)


@pytest.mark.parametrize(
    "description, staged, expected",
    [
        ({"ImportStatus": "COMPLETED", "ErrorCount": 0, "ImportedItemCount": 5}, 5, None),
        (
            {
                "ImportStatus": "FAILED",
                "FailureCode": "S3NoSuchBucket",
                "FailureMessage": "gone",
                "CloudWatchLogGroupArn": "arn:logs:g",
            },
            5,
            "import arn:i ended FAILED with 0 error(s): S3NoSuchBucket gone; AWS logs the failed lines in arn:logs:g",
        ),
        (
            {"ImportStatus": "COMPLETED", "ErrorCount": 2, "ImportedItemCount": 3},
            5,
            "import arn:i ended COMPLETED with 2 error(s); AWS logs the failed lines in CloudWatch log group "
            "/aws-dynamodb/imports",
        ),
        (
            {"ImportStatus": "COMPLETED", "ErrorCount": 0, "ImportedItemCount": 4},
            5,
            "import arn:i imported 4 item(s) of the 5 staged (merged or missing items); see CloudWatch log group "
            "/aws-dynamodb/imports",
        ),
    ],
)
def test_a_failed_import_is_one_line_with_its_arn_and_error_log(description, staged, expected):
    assert importer.import_failure(dict(description, ImportArn="arn:i"), staged) == expected


def test_an_import_belongs_to_the_table_it_names_exactly():
    """Issue 22, defect 1: a substring test took the import of zz_k1_big1 for z_k1_big1's."""
    from jobs.load.resume import import_table_name

    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/zz_k1_big1/import/01700000000000-abcdef12"
    assert import_table_name(arn) == "zz_k1_big1"
    assert import_table_name(arn) != "z_k1_big1"
    assert import_table_name("arn:aws:dynamodb:us-east-1:1:table/a.b-c_d/import/x") == "a.b-c_d"
    assert import_table_name("not an arn") == ""
