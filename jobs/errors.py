"""Named errors. Each message is one line naming what failed; no traceback is shown."""
from typing import Optional


class MigrationError(Exception):
    """Base class: printed as one line, exit code 1."""


class ConfigError(MigrationError):
    pass


class SourceError(MigrationError):
    pass


class TargetError(MigrationError):
    pass


class EndpointUnreachable(TargetError):
    """DynamoDB cannot be reached at all: no table can be migrated."""


class WriteFailed(MigrationError):
    pass


def aws_error_code(error) -> Optional[str]:
    """The AWS error code of a botocore ClientError (None for other errors)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def describe_aws_error(error) -> str:
    """'Code: message' for AWS errors, 'ExceptionType: text' for anything else."""
    code = aws_error_code(error)
    if code is not None:
        message = getattr(error, "response", {}).get("Error", {}).get("Message", "")
        return f"{code}: {message}"
    return f"{type(error).__name__}: {error}"
