"""The local stack itself: the fault tests kill Spark tasks while they write, and the emulator
must outlive the requests they leave half-sent (dynalite alone exits on the first one)."""

import socket
import time

from tests.e2e.stack import TABLE_WAIT, dynamo_items


def test_the_emulator_survives_a_client_that_hangs_up_mid_request(stack):
    client = stack.dynamodb()
    client.create_table(
        TableName="stack_probe",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName="stack_probe", WaiterConfig=TABLE_WAIT)
    with socket.create_connection(("127.0.0.1", stack.dynamo_port)) as hung_up:
        hung_up.sendall(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
            b"X-Amz-Target: DynamoDB_20120810.BatchWriteItem\r\nContent-Length: 100000\r\n\r\n"
            b'{"RequestItems": {"stack_probe": ['
        )
        time.sleep(0.2)  # the server has read the head and waits for the rest of the body
    client.put_item(TableName="stack_probe", Item={"id": {"S": "after"}})
    assert dynamo_items(client, "stack_probe") == [{"id": "after"}]
