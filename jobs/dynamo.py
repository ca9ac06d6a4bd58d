"""DynamoDB clients and tables (driver side: create or reuse, wait with the waiter)."""
from typing import Dict, Optional

from jobs.errors import TargetError

CLIENT_RETRIES = {"total_max_attempts": 1, "mode": "standard"}  # the writer does its own backoff


def make_client(endpoint_url: Optional[str], region: str, own_retries: bool = False):
    """A DynamoDB client from plain settings; executors call this themselves."""
    import boto3
    from botocore.config import Config as BotoConfig

    retries = CLIENT_RETRIES if own_retries else {"max_attempts": 5, "mode": "standard"}
    return boto3.session.Session().client(
        "dynamodb", endpoint_url=endpoint_url, region_name=region,
        config=BotoConfig(retries=retries, connect_timeout=10, read_timeout=60, max_pool_connections=4),
    )


def key_schema_of(plan) -> Dict:
    schema = [{"AttributeName": plan.key.hash_attribute, "KeyType": "HASH"}]
    definitions = [{"AttributeName": plan.key.hash_attribute, "AttributeType": "S"}]
    if plan.key.range_attribute:
        schema.append({"AttributeName": plan.key.range_attribute, "KeyType": "RANGE"})
        definitions.append({"AttributeName": plan.key.range_attribute, "AttributeType": "S"})
    return {"KeySchema": schema, "AttributeDefinitions": definitions}


def ensure_table(client, plan, dynamodb_config) -> Dict:
    """Create the target table, or reuse one with the same key schema. Returns its description."""
    from botocore.exceptions import ClientError

    wanted = key_schema_of(plan)
    try:
        existing = client.describe_table(TableName=plan.target)["Table"]
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFoundException":
            raise TargetError(f"DynamoDB table {plan.target}: {_describe(e)}") from e
        existing = None
    except Exception as e:  # noqa: BLE001 - endpoint unreachable, no credentials, ...
        raise TargetError(f"DynamoDB endpoint {dynamodb_config.endpoint_url or 'AWS ' + dynamodb_config.region}: "
                          f"{type(e).__name__}: {e}") from e
    if existing is not None:
        found = _key_text(existing.get("KeySchema", []), existing.get("AttributeDefinitions", []))
        expected = _key_text(wanted["KeySchema"], wanted["AttributeDefinitions"])
        if found != expected:
            raise TargetError(
                f"DynamoDB table {plan.target} exists with key {found}, but {plan.name} needs {expected}; "
                f"nothing was written (drop it or set tables.{plan.name}.target)"
            )
        _wait(client, plan.target, dynamodb_config)
        return {"action": "reused", "table": client.describe_table(TableName=plan.target)["Table"]}
    arguments = dict(TableName=plan.target, **wanted)
    if dynamodb_config.billing_mode == "PROVISIONED":
        arguments["BillingMode"] = "PROVISIONED"
        arguments["ProvisionedThroughput"] = {
            "ReadCapacityUnits": dynamodb_config.read_capacity,
            "WriteCapacityUnits": dynamodb_config.write_capacity,
        }
    else:
        arguments["BillingMode"] = "PAY_PER_REQUEST"
    try:
        client.create_table(**arguments)
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceInUseException":  # created concurrently: re-check
            raise TargetError(f"cannot create DynamoDB table {plan.target}: {_describe(e)}") from e
        return ensure_table(client, plan, dynamodb_config)
    _wait(client, plan.target, dynamodb_config)
    return {"action": "created", "table": client.describe_table(TableName=plan.target)["Table"]}


def _wait(client, table: str, dynamodb_config) -> None:
    # botocore's default waiter polls every 20 s; a new table is usually ACTIVE in seconds.
    delay = 1
    client.get_waiter("table_exists").wait(
        TableName=table,
        WaiterConfig={"Delay": delay, "MaxAttempts": max(1, dynamodb_config.table_wait_seconds // delay)},
    )


def provisioned_wcu(description: Dict) -> Optional[int]:
    mode = description.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    wcu = description.get("ProvisionedThroughput", {}).get("WriteCapacityUnits", 0)
    if mode == "PAY_PER_REQUEST" or not wcu:
        return None
    return int(wcu)


def _key_text(schema, definitions) -> str:
    types = {d["AttributeName"]: d["AttributeType"] for d in definitions}
    return ", ".join(f"{k['KeyType']} {k['AttributeName']} ({types.get(k['AttributeName'], '?')})" for k in schema)


def _describe(error) -> str:
    err = error.response.get("Error", {})
    return f"{err.get('Code')}: {err.get('Message')}"
