"""Where the MySQL password comes from: environment, file, Secrets Manager or a Glue connection.

Never from a command-line argument or the conf file itself.
"""

import json
import os

from jobs import storage
from jobs.errors import ConfigError


def mysql_password(mysql_config, environ=None, aws_session=None) -> str:
    environ = os.environ if environ is None else environ
    if mysql_config.password_env and mysql_config.password_env in environ:
        return environ[mysql_config.password_env]
    if mysql_config.password_file:
        return storage.read_text(mysql_config.password_file).rstrip("\r\n")
    if mysql_config.secret_id:
        return _from_secrets_manager(mysql_config.secret_id, aws_session)
    if mysql_config.glue_connection:
        return _from_glue_connection(mysql_config.glue_connection, aws_session)
    raise ConfigError(
        f"no MySQL password: set the {mysql_config.password_env} environment variable, "
        f"mysql.password_file, mysql.secret_id or mysql.glue_connection"
    )


def _session(aws_session):
    if aws_session is not None:
        return aws_session
    import boto3

    return boto3.session.Session()


def _from_secrets_manager(secret_id: str, aws_session) -> str:
    try:
        value = _session(aws_session).client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    except Exception as e:
        raise ConfigError(f"cannot read secret mysql.secret_id={secret_id!r}: {type(e).__name__}") from e
    try:
        return json.loads(value)["password"]
    except (ValueError, KeyError, TypeError):
        return value  # a plain-text secret is the password itself


def _from_glue_connection(name: str, aws_session) -> str:
    try:
        connection = _session(aws_session).client("glue").get_connection(Name=name, HidePassword=False)
        return connection["Connection"]["ConnectionProperties"]["PASSWORD"]
    except Exception as e:
        raise ConfigError(
            f"cannot read the password of Glue connection mysql.glue_connection={name!r}: {type(e).__name__}"
        ) from e
