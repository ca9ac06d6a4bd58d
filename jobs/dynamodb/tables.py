"""DynamoDB clients and tables (driver side: create or reuse, wait with the waiter)."""

import functools
import json
from typing import Any, Dict, Iterator, List, Optional

from jobs.errors import EndpointUnreachable, TargetError, describe_aws_error

CLIENT_RETRIES = {"total_max_attempts": 1, "mode": "standard"}  # the writer does its own backoff


MAX_POOL_CONNECTIONS = 16  # above dynamodb.max_in_flight's default, and the scans' few threads


@functools.lru_cache(maxsize=None)
def _loader():
    """botocore's reader of its service model files, one per process and shared by every client."""
    import botocore.loaders

    return botocore.loaders.create_loader()


def _session():
    """A new session (credentials resolved afresh: the environment may have changed) that shares
    the process's loader, so the service model and endpoint files are read and parsed once, not
    for each client (that took ~90 ms of CPU a client; a task builds several)."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    core.register_component("data_loader", _loader())
    return boto3.session.Session(botocore_session=core)


def make_client(endpoint_url: Optional[str], region: str, own_retries: bool = False):
    """A DynamoDB client from plain settings; executors call this themselves."""
    from botocore.config import Config as BotoConfig

    retries = CLIENT_RETRIES if own_retries else {"max_attempts": 5, "mode": "standard"}
    client = _session().client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=region,
        # Our requests are built by our own code; botocore's client-side check of every attribute
        # of every item costs a third of a 25-item BatchWriteItem's time (DynamoDB checks them).
        config=BotoConfig(
            retries=retries,
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=MAX_POOL_CONNECTIONS,
            parameter_validation=False,
        ),
    )
    client.meta.events.register("before-parse.dynamodb.Scan", raw_scan_page)
    return client


def raw_scan_page(response_dict: Dict[str, Any], customized_response_dict: Dict[str, Any], **_: Any) -> None:
    """A Scan page as DynamoDB sends it (json.loads of the body) instead of botocore's walk of
    every attribute of every item against the model, which costs nine times the CPU. The items
    are in DynamoDB's typed form either way, which is what every reader here takes (a binary
    value stays base64 text). Errors are parsed by botocore as before."""
    if response_dict.get("status_code") == 200 and response_dict.get("body"):
        customized_response_dict.update(json.loads(response_dict["body"]))
        response_dict["body"] = b"{}"


def consistent_pages(client, operation: str, request: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
    """Every item a Scan or Query returns (wire form), page after page, read consistently."""
    request = dict(request, ConsistentRead=True)
    call = getattr(client, operation)
    while True:
        answer = call(**request)
        yield from answer.get("Items", [])
        if "LastEvaluatedKey" not in answer:
            return
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def key_schema_of(plan) -> Dict:
    """The table's key schema and attribute definitions, and a modelled table's global secondary
    indexes (every attribute projected: a query on an index gets whole items)."""
    schema = _schema(plan.key.hash_attribute, plan.key.range_attribute)
    attributes = [plan.key.hash_attribute] + ([plan.key.range_attribute] if plan.key.range_attribute else [])
    wanted: Dict[str, Any] = {"KeySchema": schema}
    indexes = plan.model[0].indexes if plan.model else ()
    if indexes:
        wanted["GlobalSecondaryIndexes"] = [
            {"IndexName": i.name, "KeySchema": _schema(i.hash, i.range), "Projection": {"ProjectionType": "ALL"}}
            for i in indexes
        ]
        attributes += [a for i in indexes for a in (i.hash, i.range) if a]
    wanted["AttributeDefinitions"] = [{"AttributeName": a, "AttributeType": "S"} for a in dict.fromkeys(attributes)]
    return wanted


def _schema(hash_attribute: str, range_attribute: Optional[str]) -> List[Dict[str, str]]:
    schema = [{"AttributeName": hash_attribute, "KeyType": "HASH"}]
    if range_attribute:
        schema.append({"AttributeName": range_attribute, "KeyType": "RANGE"})
    return schema


def start_table(client, plan, dynamodb_config) -> str:
    """Create the target table (without waiting), or check an existing one's key schema.

    Returns "created" or "reused"; raises TargetError when the table cannot be used.
    """
    from botocore.exceptions import ClientError

    wanted = key_schema_of(plan)
    existing = describe_if_exists(client, plan.target, dynamodb_config)
    if existing is not None:
        found = _key_text(existing.get("KeySchema", []), existing.get("AttributeDefinitions", []))
        expected = _key_text(wanted["KeySchema"], wanted["AttributeDefinitions"])
        if found != expected:
            raise TargetError(
                f"DynamoDB table {plan.target} exists with key {found}, but {plan.name} needs {expected}; "
                f"nothing was written (drop it or set tables.{plan.name}.target)"
            )
        have = {i["IndexName"] for i in existing.get("GlobalSecondaryIndexes") or []}
        lacking = [i["IndexName"] for i in wanted.get("GlobalSecondaryIndexes", []) if i["IndexName"] not in have]
        if lacking:
            raise TargetError(
                f"DynamoDB table {plan.target} exists without the model's index(es) {', '.join(lacking)}; "
                "nothing was written (drop it, or add them)"
            )
        warm = warm_request(existing, dynamodb_config)
        if warm:
            try:
                client.update_table(TableName=plan.target, WarmThroughput={"WriteUnitsPerSecond": warm})
            except ClientError as e:
                raise TargetError(
                    f"cannot raise the warm throughput of DynamoDB table {plan.target} to "
                    f"{warm} WCU/s: {describe_aws_error(e)}"
                ) from e
            return f"reused, warm throughput raised to {warm} WCU/s"
        return "reused"
    arguments = dict(TableName=plan.target, **wanted)
    if dynamodb_config.billing_mode == "PROVISIONED":
        arguments["BillingMode"] = "PROVISIONED"
        arguments["ProvisionedThroughput"] = {
            "ReadCapacityUnits": dynamodb_config.read_capacity,
            "WriteCapacityUnits": dynamodb_config.write_capacity,
        }
        for index in arguments.get("GlobalSecondaryIndexes", []):  # each index has its own capacity
            index["ProvisionedThroughput"] = arguments["ProvisionedThroughput"]
    else:
        arguments["BillingMode"] = "PAY_PER_REQUEST"
    warm = warm_request(None, dynamodb_config)
    if warm:
        arguments["WarmThroughput"] = {"WriteUnitsPerSecond": warm}
    try:
        client.create_table(**arguments)
    except ClientError as e:
        code = e.response["Error"]["Code"]
        if code == "ResourceInUseException":  # created meanwhile by someone else: check it
            return start_table(client, plan, dynamodb_config)
        if code == "LimitExceededException":
            raise TooManyCreating(plan.target) from e
        raise TargetError(f"cannot create DynamoDB table {plan.target}: {describe_aws_error(e)}") from e
    return f"created, pre-warmed to {warm} WCU/s" if warm else "created"


def warm_request(existing: Optional[Dict], dynamodb_config) -> Optional[int]:
    """The warm write throughput to ask for (mapping.budget.warm_throughput_request), or None."""
    from mapping import budget

    on_demand = dynamodb_config.billing_mode != "PROVISIONED" if existing is None else provisioned_wcu(existing) is None
    current = ((existing or {}).get("WarmThroughput") or {}).get("WriteUnitsPerSecond")
    return budget.warm_throughput_request(
        on_demand, dynamodb_config.target_wcu, dynamodb_config.warm_throughput, existing is not None, current
    )


class TooManyCreating(Exception):
    """DynamoDB limits how many tables may be CREATING at once: wait, then try again."""


def ensure_tables(client, plans, dynamodb_config, on_error) -> Dict[str, Dict]:
    """Create or reuse every target table: all CreateTable calls first, then the waits.

    Returns {target: {"action", "table"}} for the usable tables; on_error(plan, error)
    is called for each table that cannot be used.
    """
    started: Dict[str, str] = {}
    waiting = []
    for plan in plans:
        if plan.target in started:  # a modelled target's next source: the table is the first one's
            waiting.append(plan)
            continue
        for attempt in range(2):
            try:
                started[plan.target] = start_table(client, plan, dynamodb_config)
                waiting.append(plan)
                break
            except TooManyCreating:
                if attempt:
                    on_error(plan, TargetError(f"DynamoDB table {plan.target}: too many tables being created"))
                for pending in waiting:
                    _wait(client, pending.target, dynamodb_config)
            except EndpointUnreachable:
                raise
            except TargetError as e:
                on_error(plan, e)
                break
    ready = {}
    for plan in waiting:
        _wait(client, plan.target, dynamodb_config)
        ready[plan.target] = {
            "action": started[plan.target],
            "table": client.describe_table(TableName=plan.target)["Table"],
        }
    return ready


def describe_if_exists(client, table: str, dynamodb_config) -> Optional[Dict]:
    """DescribeTable, or None when the table does not exist."""
    from botocore.exceptions import ClientError

    try:
        return client.describe_table(TableName=table)["Table"]
    except ClientError as e:
        if e.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise TargetError(f"DynamoDB table {table}: {describe_aws_error(e)}") from e
    except Exception as e:
        raise EndpointUnreachable(
            f"DynamoDB endpoint {dynamodb_config.endpoint_url or 'AWS ' + dynamodb_config.region}: "
            f"{type(e).__name__}: {e}"
        ) from e


def wait_active(client, table: str, dynamodb_config) -> Dict:
    _wait(client, table, dynamodb_config)
    return client.describe_table(TableName=table)["Table"]


def _wait(client, table: str, dynamodb_config) -> None:
    wait_soon_then_steadily(client.get_waiter("table_exists"), table, dynamodb_config.table_wait_seconds)
    if dynamodb_config.target_wcu and dynamodb_config.warm_throughput != "none":
        wait_soon_then_steadily(warm_waiter(client), table, dynamodb_config.table_wait_seconds)


QUICK_POLLS = (0.1, 10)  # seconds apart, how many: the first second


def wait_soon_then_steadily(waiter, table: str, wait_seconds: int) -> None:
    """botocore's default waiter polls every 20 s; a new table is ACTIVE in seconds in a region
    and in milliseconds in an emulator: poll every 0.1 s for a second, then every second."""
    from botocore.exceptions import WaiterError

    delay, polls = QUICK_POLLS
    try:
        waiter.wait(TableName=table, WaiterConfig={"Delay": delay, "MaxAttempts": polls})
        return
    except WaiterError as e:
        if not str(e.kwargs.get("reason", "")).startswith("Max attempts exceeded"):
            raise  # a failure state, not slowness
    waiter.wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": max(1, wait_seconds)})


WARM_WAITER = {
    "version": 2,
    "waiters": {
        "WarmThroughputActive": {
            "operation": "DescribeTable",
            "delay": 1,
            "maxAttempts": 600,
            "acceptors": [
                {
                    "matcher": "path",
                    "argument": "Table.WarmThroughput.Status",
                    "expected": "ACTIVE",
                    "state": "success",
                },
                # DynamoDB Local and emulators report no warm throughput: nothing to wait for
                {"matcher": "path", "argument": "Table.WarmThroughput == null", "expected": True, "state": "success"},
            ],
        }
    },
}


def warm_waiter(client):
    """botocore has no waiter for warm throughput; this one polls DescribeTable until it is ACTIVE."""
    from botocore.waiter import WaiterModel, create_waiter_with_client

    return create_waiter_with_client("WarmThroughputActive", WaiterModel(WARM_WAITER), client)


def provisioned_wcu(description: Dict) -> Optional[int]:
    mode = description.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    wcu = description.get("ProvisionedThroughput", {}).get("WriteCapacityUnits", 0)
    if mode == "PAY_PER_REQUEST" or not wcu:
        return None
    return int(wcu)


def _key_text(schema, definitions) -> str:
    types = {d["AttributeName"]: d["AttributeType"] for d in definitions}
    return ", ".join(f"{k['KeyType']} {k['AttributeName']} ({types.get(k['AttributeName'], '?')})" for k in schema)


def warm_write_units(description: Dict) -> Optional[int]:
    """The table's warm write throughput once active (None: not reported, or still warming)."""
    warm = (description or {}).get("WarmThroughput") or {}
    if warm.get("Status", "ACTIVE") != "ACTIVE" or not warm.get("WriteUnitsPerSecond"):
        return None
    return int(warm["WriteUnitsPerSecond"])


def table_write_rate(description: Dict, dynamodb_config, hash_values: Optional[int] = None):
    """The table's write budget (mapping.budget.WriteRate), from its DescribeTable and the settings."""
    from mapping import budget

    return budget.plan_write_rate(
        provisioned_wcu(description or {}),
        dynamodb_config.write_percent,
        dynamodb_config.on_demand_wcu,
        dynamodb_config.target_wcu,
        warm_write_units(description),
        hash_values,
        dynamodb_config.partition_key_wcu,
    )
