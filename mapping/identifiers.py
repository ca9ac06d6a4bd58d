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
