import pytest

from jobs.config import MySQLConfig
from jobs.errors import ConfigError
from jobs.secrets import mysql_password


def test_environment_first_then_file(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    config = MySQLConfig(password_file=str(secret))
    assert mysql_password(config, environ={"MYSQL_PASSWORD": "from-env"}) == "from-env"
    assert mysql_password(config, environ={}) == "from-file"


def test_missing_password_names_the_options():
    with pytest.raises(ConfigError, match="MYSQL_PASSWORD environment variable"):
        mysql_password(MySQLConfig(), environ={})


class FakeSession:
    def __init__(self, value):
        self.value = value

    def client(self, name):
        assert name == "secretsmanager"
        return self

    def get_secret_value(self, SecretId):
        return {"SecretString": self.value}


def test_secrets_manager_json_or_plain():
    config = MySQLConfig(secret_id="prod/db")
    assert mysql_password(config, environ={}, aws_session=FakeSession('{"password": "p1", "username": "u"}')) == "p1"
    assert mysql_password(config, environ={}, aws_session=FakeSession("p2")) == "p2"
