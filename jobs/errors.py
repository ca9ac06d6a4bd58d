"""Named errors. Each message is one line naming what failed; no traceback is shown."""

from typing import Optional


class MigrationError(Exception):
    """Base class: printed as one line, exit code 1."""


class ConfigError(MigrationError):
    pass


class SourceError(MigrationError):
    pass


class PlanningError(MigrationError):
    """One table cannot be planned as configured: that table is skipped, the others go on."""


class TargetError(MigrationError):
    pass


class EndpointUnreachable(TargetError):
    """DynamoDB cannot be reached at all: no table can be migrated."""


TASK_ERROR_MARK = "[mysql2dynamodb task error] "


class TaskError(MigrationError):
    """Raised inside Spark tasks. Spark hands the driver only text (a Java stack trace around
    the Python traceback); the mark lets one_line find our message in it."""

    def __init__(self, message: str):
        super().__init__(TASK_ERROR_MARK + message)


class WriteFailed(TaskError):
    pass


def one_line(error: BaseException, limit: int = 600) -> str:
    """One line for the report and the log, whatever raised it, keeping the underlying cause."""
    text = str(error)
    if TASK_ERROR_MARK in text:
        return text.split(TASK_ERROR_MARK, 1)[1].splitlines()[0]
    if isinstance(error, MigrationError):
        return text.splitlines()[0] if text else type(error).__name__
    lines = [line.strip() for line in text.splitlines()]
    start = next((i for i, line in enumerate(lines) if "Lost task" in line and "): " in line), None)
    if start is not None:  # Spark: "... Lost task 1.0 in stage 0.0 (TID 1) (host executor 1): <cause>"
        first = lines[start].split("): ", 1)[1]
    else:
        start = next((i for i, line in enumerate(lines) if "Exception:" in line or "Error:" in line), None)
        if start is None:
            return f"{type(error).__name__}: {(lines[0] if lines else '')[:limit]}"
        first = lines[start].lstrip(": ")  # Py4J puts ": " before the Java exception's class
    message = [first]
    for line in lines[start + 1 :]:  # a driver's multi-line message (hints about timeouts) ends at the trace
        if not line or line.startswith(("at ", "Caused by", "Driver stacktrace")):
            break
        message.append(line)
    if first.endswith("Traceback (most recent call last):") and len(message) > 1:
        return f"in a Spark task: {message[-1]}"[:limit]  # a Python traceback's last line is its exception
    return " ".join(message)[:limit]


def too_many_connections(error: BaseException) -> bool:
    """The server refused a connection for want of one (MySQL error 1040, also 1203 over a
    per-user limit), through pymysql or a JDBC read in a Spark task: worth waiting for."""
    text = str(error)
    return (
        "Too many connections" in text
        or "max_user_connections" in text
        or getattr(error, "args", (None,))[:1] in ((1040,), (1203,))
    )


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
