"""Named errors. Each message is one line naming what failed; no traceback is shown."""


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
