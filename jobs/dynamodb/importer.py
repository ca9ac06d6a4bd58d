"""Driver side of import mode: ImportTable over a table's staged objects, then DescribeImport
until it ends. ImportTable creates the table itself and consumes no write capacity."""

import threading
import time
from typing import Callable, Dict, Optional

from jobs import storage
from jobs.dynamodb.tables import key_schema_of
from jobs.errors import TargetError, describe_aws_error


class ImportStillRunning(TargetError):
    """The wait ended with the import still running: it is the table's, for a --resume to take up."""


IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"


def staged_prefix(staging_path: str, whole_folder: bool = False) -> Dict[str, str]:
    """S3BucketSource for the table's objects: only our part files, whatever else the folder
    holds; or every object below it (a modelled target's, one folder per source table)."""
    bucket, key = storage.split_s3(storage.join(staging_path, "" if whole_folder else "part-"))
    return {"S3Bucket": bucket, "S3KeyPrefix": key}


def import_arguments(plan, dynamodb_config, staging_path: str, token: str, whole_folder: bool = False) -> Dict:
    creation = dict(TableName=plan.target, **key_schema_of(plan))
    if dynamodb_config.billing_mode == "PROVISIONED":
        creation["BillingMode"] = "PROVISIONED"
        creation["ProvisionedThroughput"] = {
            "ReadCapacityUnits": dynamodb_config.read_capacity,
            "WriteCapacityUnits": dynamodb_config.write_capacity,
        }
        for index in creation.get("GlobalSecondaryIndexes", []):  # each index has its own capacity
            index["ProvisionedThroughput"] = creation["ProvisionedThroughput"]
    else:
        creation["BillingMode"] = "PAY_PER_REQUEST"
    return {
        "ClientToken": token,
        "S3BucketSource": staged_prefix(staging_path, whole_folder),
        "InputFormat": "DYNAMODB_JSON",
        "InputCompressionType": "GZIP",
        "TableCreationParameters": creation,
    }


def start_import(client, plan, dynamodb_config, staging_path: str, token: str, whole_folder: bool = False) -> str:
    """Start ImportTable; returns its ARN. The token makes a repeated call (same staging) the same import."""
    from botocore.exceptions import ClientError

    try:
        started = client.import_table(**import_arguments(plan, dynamodb_config, staging_path, token, whole_folder))
    except ClientError as e:
        raise TargetError(f"cannot import into DynamoDB table {plan.target}: {describe_aws_error(e)}") from e
    return started["ImportTableDescription"]["ImportArn"]


def wait_import(
    client,
    arn: str,
    wait_seconds: float,
    on_progress: Callable[[Dict], None],
    pause: Optional[Callable[[float], object]] = None,
) -> Dict:
    """DescribeImport until the import leaves IN_PROGRESS (polls every 1 s, growing to 30 s)."""
    sleep: Callable[[float], object] = pause or threading.Event().wait
    deadline = time.monotonic() + wait_seconds
    delay = 1.0
    while True:
        description = client.describe_import(ImportArn=arn)["ImportTableDescription"]
        if description.get("ImportStatus") != IN_PROGRESS:
            return description
        on_progress(description)
        if time.monotonic() > deadline:
            raise ImportStillRunning(
                f"import {arn} still IN_PROGRESS after {wait_seconds:g}s "
                f"(dynamodb.import_wait_seconds); a --resume run picks it up"
            )
        sleep(delay)
        delay = min(30.0, delay * 2)


def import_failure(description: Dict, staged_items: int) -> Optional[str]:
    """Why an ended import cannot be trusted, as one line naming the import and its error log; or None."""
    arn = description.get("ImportArn", "?")
    status = description.get("ImportStatus")
    errors = int(description.get("ErrorCount") or 0)
    imported = int(description.get("ImportedItemCount") or 0)
    logs = description.get("CloudWatchLogGroupArn") or "CloudWatch log group /aws-dynamodb/imports"
    if status != COMPLETED or errors:
        reason = " ".join(str(p) for p in (description.get("FailureCode"), description.get("FailureMessage")) if p)
        return (
            f"import {arn} ended {status} with {errors} error(s){': ' + reason if reason else ''}; "
            f"AWS logs the failed lines in {logs}"
        )
    if imported != staged_items:
        return (
            f"import {arn} imported {imported} item(s) of the {staged_items} staged "
            f"(merged or missing items); see {logs}"
        )
    return None


def import_summary(description: Dict) -> Dict:
    """What the report shows of an import."""
    return {
        name: description.get(name)
        for name in (
            "ImportArn",
            "ImportStatus",
            "ImportedItemCount",
            "ProcessedItemCount",
            "ErrorCount",
            "ProcessedSizeBytes",
            "FailureCode",
            "FailureMessage",
            "CloudWatchLogGroupArn",
        )
    }
