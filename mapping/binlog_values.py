"""Which binlog values stand for exactly one source value, and which do not.

The replication library decodes a row image into Python values, and a few of them do not say
which value the row held: any DATE or DATETIME with a zero part comes back as None (like NULL),
YEAR 0000 as 1900, a zero TIMESTAMP as the epoch, a negative TIME with a fraction with its
fraction counted the wrong way. The catch-up never lets such a value decide which item it
touches: the exact ones are restored here, the rest are marked `Inexact`.
"""

import datetime
from dataclasses import dataclass

ZERO_TIMESTAMP = "0000-00-00 00:00:00"


@dataclass(frozen=True)
class Inexact:
    """A value the binlog image does not give exactly; why, in words."""

    why: str


# The library's reasons for a None that is not a NULL (its NONE_SOURCE values).
INEXACT_NONE = {
    "out of date range": "a zero or partial DATE",
    "out of datetime range": "a zero or partial DATETIME",
    "out of datetime2 range": "a zero or partial DATETIME",
    "empty set": "a SET whose members the binlog does not name (binlog_row_metadata is not FULL)",
    "cols bitmap": "a column left out of the image (binlog_row_image is not FULL)",
    "same with before values": "a partial JSON update",
}
EMPTY_SET = "empty set"
EPOCH = datetime.datetime(1970, 1, 1)


def exact_none(none_source: str, set_members_known: bool) -> object:
    """What a None from the library stands for, given its reason: NULL, the empty SET (when the
    binlog names the SET's members, the library gives an empty one as None too), or `Inexact`."""
    if none_source == "null":
        return None
    if none_source == EMPTY_SET and set_members_known:
        return ""
    return Inexact(INEXACT_NONE.get(none_source, none_source))


def exact_value(data_type: str, value: object) -> object:
    """The source value a decoded (not None) binlog value stands for, or `Inexact`; data_type is
    the column's information_schema DATA_TYPE."""
    kind = data_type.lower()
    if kind == "year" and value == 1900:
        return 0  # the library adds 1900 to the stored byte; 1900 itself is not a YEAR value
    if kind == "timestamp" and value == EPOCH:
        return ZERO_TIMESTAMP  # the epoch itself is outside TIMESTAMP's range: it is the zero value
    if (
        kind == "time"
        and isinstance(value, datetime.timedelta)
        and value < datetime.timedelta(0)
        and value.microseconds
    ):
        return Inexact("a negative TIME with a fraction")
    return value


STRICT_FLAGS = {"STRICT_TRANS_TABLES", "STRICT_ALL_TABLES", "NO_ZERO_DATE", "NO_ZERO_IN_DATE", "TRADITIONAL"}


def lenient_sql_mode(sql_mode: str) -> str:
    """The session's sql_mode without the flags that refuse values a table may hold all the same
    (an ENUM's '' error value, YEAR 0000, zero dates, stored under a laxer mode); every flag that
    changes how a value prints stays."""
    return ",".join(flag for flag in sql_mode.split(",") if flag and flag.upper() not in STRICT_FLAGS)
