"""Quoting of MySQL identifiers. Every statement we send goes through these."""


def quote_identifier(name: str) -> str:
    """Backtick-quote one identifier, doubling embedded backticks (MySQL's rule)."""
    if not name:
        raise ValueError("empty identifier")
    if "\x00" in name:
        raise ValueError(f"identifier {name!r} contains a NUL character")
    return "`" + name.replace("`", "``") + "`"


def quote_table(database: str, table: str) -> str:
    return f"{quote_identifier(database)}.{quote_identifier(table)}"


def number_literal(value: float) -> str:
    """A finite number as SQL text. Statements that carry identifiers get their values this way,
    never through the driver's %-formatting, which would read a '%' in a name as a placeholder."""
    import math

    if isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return str(int(value)) if isinstance(value, int) else repr(float(value))
