import pytest


@pytest.fixture(scope="session")
def spark():
    from jobs.session import build_spark

    session = build_spark("mysql2dynamodb-tests")
    session.conf.set("spark.sql.shuffle.partitions", "4")
    yield session
    session.stop()
