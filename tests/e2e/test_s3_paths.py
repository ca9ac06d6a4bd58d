"""s3:// wherever a path is taken: conf, password file, report, rejects, state (moto's S3)."""

import json
import os
import signal
import subprocess

import boto3
import pytest

from tests.e2e.stack import VENV, free_port, spark_submit_command, start_server


@pytest.fixture(scope="module")
def s3(stack):
    port = free_port()
    server = start_server([os.path.join(VENV, "bin", "moto_server"), "-H", "127.0.0.1", "-p", str(port)], port)
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local"
    )
    client.create_bucket(Bucket="m2d")
    yield endpoint, client
    server.send_signal(signal.SIGINT)  # moto stops on SIGINT, not SIGTERM
    server.wait(10)


def test_every_path_can_be_s3(stack, s3, tmp_path):
    endpoint, client = s3
    stack.fresh_database(
        "s3_db",
        "CREATE TABLE docs (id INT PRIMARY KEY, body LONGTEXT)",
        "INSERT INTO docs VALUES (1, 'fine'), (2, REPEAT('x', 450000))",
    )
    client.put_object(Bucket="m2d", Key="secrets/mysql", Body=stack.password.encode())
    client.put_object(
        Bucket="m2d",
        Key="conf/s3_db.json",
        Body=json.dumps(
            {
                "mysql": {"password_env": "NOT_SET_ANYWHERE", "password_file": "s3://m2d/secrets/mysql"},
                "output": {
                    "report": "s3://m2d/out/report.json",
                    "rejects": "s3://m2d/out/rejects",
                    "state": "s3://m2d/out/state",
                },
            }
        ).encode(),
    )
    command = spark_submit_command(
        [
            "--database",
            "s3_db",
            "--conf",
            "s3://m2d/conf/s3_db.json",
            "--mysql-port",
            str(stack.mysql_port),
            "--dynamodb-endpoint",
            stack.endpoint,
        ]
    )
    environment = {k: v for k, v in stack.env.items() if k != "MYSQL_PASSWORD"}  # only the S3 file has it
    environment["AWS_ENDPOINT_URL_S3"] = endpoint
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, cwd=str(tmp_path), timeout=300)
    assert completed.returncode == 3, (completed.stdout + completed.stderr)[-3000:]
    assert stack.password not in completed.stdout + completed.stderr

    report = json.loads(client.get_object(Bucket="m2d", Key="out/report.json")["Body"].read())
    assert report["tables"][0]["rejected"] == 1 and report["tables"][0]["items_written"] == 1
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="m2d", Prefix="out/")["Contents"]]
    reject_files = [k for k in keys if k.startswith("out/rejects/s3_db/docs/part-")]
    assert len(reject_files) == 1
    line = json.loads(client.get_object(Bucket="m2d", Key=reject_files[0])["Body"].read().decode().splitlines()[0])
    assert line["key"] == {"id": "2"} and "409600-byte limit" in line["reason"]
    manifest = json.loads(client.get_object(Bucket="m2d", Key="out/state/manifest.json")["Body"].read())
    (entry,) = [t for t in manifest["tables"] if (t["database"], t["table"]) == ("s3_db", "docs")]
    assert entry["status"] == "done" and entry["finished"]  # finished partitions recorded in the manifest
    for key in ["out/report.json", "out/state/manifest.json"] + reject_files:
        assert stack.password not in client.get_object(Bucket="m2d", Key=key)["Body"].read().decode()
