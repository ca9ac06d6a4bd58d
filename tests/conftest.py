import pytest


@pytest.fixture(scope="session")
def spark():
    from tests.session import shared_session

    return shared_session()


def pytest_sessionfinish(session, exitstatus):
    from tests.session import stop_shared_session

    stop_shared_session()
