import os

import pytest

from tests.e2e.stack import REPO, VENV, Stack


@pytest.fixture(scope="session")
def stack():
    """MariaDB + dynalite on their own loopback ports, started here and stopped after."""
    stack_dir = os.path.join(REPO, ".stack", "test")
    env = dict(os.environ)
    env.update({
        "M2D_STACK_DIR": stack_dir,
        "M2D_MYSQL_PORT": os.environ.get("M2D_TEST_MYSQL_PORT", "23306"),
        "M2D_DYNAMO_PORT": os.environ.get("M2D_TEST_DYNAMO_PORT", "28000"),
        "M2D_SPARK_PORT": os.environ.get("M2D_TEST_SPARK_PORT", "27077"),
        "M2D_SPARK_UI_PORT": os.environ.get("M2D_TEST_SPARK_UI_PORT", "28080"),
        # A server zone far from UTC: TIMESTAMP values must still come out in UTC.
        "M2D_MYSQL_ARGS": "--default-time-zone=+05:30",
        "MYSQL_PASSWORD": "m2d-test-pw-7Qx",
        "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1",
        "PYSPARK_PYTHON": os.path.join(VENV, "bin", "python"),
        "PYSPARK_DRIVER_PYTHON": os.path.join(VENV, "bin", "python"),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_CONF_DIR": os.path.join(REPO, "conf", "spark"),
        "M2D_VENV": VENV,
    })
    running = Stack(int(env["M2D_MYSQL_PORT"]), int(env["M2D_DYNAMO_PORT"]), int(env["M2D_SPARK_PORT"]),
                    env["MYSQL_PASSWORD"], env, stack_dir)
    running.stack_script("stop", "all")
    running.stack_script("start", "mariadb")
    running.stack_script("start", "dynalite")
    yield running
    running.stack_script("stop", "all")
