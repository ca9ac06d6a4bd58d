import os

import pytest

from tests.e2e.stack import REPO, VENV, Stack
from tests.session import EXECUTOR_ENVIRONMENT


def _port(variable: str, default: int, offset: int) -> str:
    return str(int(os.environ.get(variable, default)) + offset)


@pytest.fixture(scope="session")
def stack(worker_id):
    """MariaDB + dynalite on their own loopback ports, started here and stopped after.

    Each pytest-xdist worker (gw0, gw1, ...) has a stack of its own: its own folder and ports."""
    number = int(worker_id[2:]) if worker_id.startswith("gw") else 0
    offset = 10 * number
    stack_dir = os.path.join(REPO, ".stack", f"test-{worker_id}")
    env = dict(os.environ)
    env.update(
        {
            "M2D_STACK_DIR": stack_dir,
            "M2D_MYSQL_PORT": _port("M2D_TEST_MYSQL_PORT", 23306, offset),
            "M2D_DYNAMO_PORT": _port("M2D_TEST_DYNAMO_PORT", 28000, offset),
            "M2D_SPARK_PORT": _port("M2D_TEST_SPARK_PORT", 27077, offset),
            "M2D_SPARK_UI_PORT": _port("M2D_TEST_SPARK_UI_PORT", 28080, offset),
            # A server zone far from UTC: TIMESTAMP values must still come out in UTC.
            "M2D_MYSQL_ARGS": "--default-time-zone=+05:30",
            "MYSQL_PASSWORD": "m2d-test-pw-7Qx",
            **EXECUTOR_ENVIRONMENT,
            "M2D_VENV": VENV,
        }
    )
    running = Stack(
        int(env["M2D_MYSQL_PORT"]),
        int(env["M2D_DYNAMO_PORT"]),
        int(env["M2D_SPARK_PORT"]),
        env["MYSQL_PASSWORD"],
        env,
        stack_dir,
    )
    running.stack_script("stop", "all")
    running.stack_script("start", "mariadb")
    running.stack_script("start", "dynalite")
    yield running
    running.stack_script("stop", "all")


# The longest files first, by their measured worker time (test_trust.py ~120 s, the rest 90 s
# and less). pytest-xdist's loadfile hands out files in collection order as workers free up;
# a long file collected last would leave the other worker idle for most of its length.
LONGEST_FIRST = (
    "test_cut_over.py",
    # beside the cut-over tests, which mostly wait: the climb to target_wcu is timed by the
    # throttling proxy and misses its rate when the other worker is busy loading
    "test_write_rate.py",
    "test_trust.py",
    "test_comparison_at_size.py",
    "test_iam.py",
    "test_import.py",
    "test_live_verify.py",
    "test_catchup_trust.py",
    "test_splits.py",
    "test_repair.py",
    "test_model.py",
    "test_operations.py",
    "test_source_limits.py",
    "test_catchup.py",
)


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each file's tests keep their order
