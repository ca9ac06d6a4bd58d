"""Which migrated tables a statement in the binlog changes in a way the catch-up cannot apply.

Row events carry the row changes the catch-up applies; a statement logged as a query (DDL,
TRUNCATE, a change made under binlog_format=STATEMENT) carries none. Such a statement
marks every migrated table it may change for reload. Statements are read with a small
tokenizer of MySQL's lexical rules (comments, quoted strings, backquoted names, `db`.`t`
with or without spaces), so a name is matched whole, never as a piece of another name, a
string or a comment. What is known not to change rows is passed over; a statement of an
unknown kind that names a migrated table marks it, rather than a guess that it did not.
"""

from dataclasses import dataclass
from typing import Collection, Iterator, List, Optional, Sequence, Tuple

TableName = Tuple[str, str]

WORD, NAME, STRING, NUMBER, SYMBOL = "word", "name", "string", "number", "symbol"


@dataclass(frozen=True)
class Token:
    kind: str
    text: str  # as written (quotes removed): an unquoted word may be a name, and names keep their case


def tokenize(sql: str) -> List[Token]:
    return list(_tokens(sql))


def _tokens(sql: str) -> Iterator[Token]:
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            body = sql[i + 2 : end if end >= 0 else n]
            if body.startswith("!"):  # a versioned comment /*!50100 ... */ is executed: read its text
                yield from _tokens(body.lstrip("!0123456789"))
            i = n if end < 0 else end + 2
        elif c == "#" or (sql.startswith("--", i) and (i + 2 >= n or sql[i + 2].isspace())):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif c in "'\"`":
            text, i = _quoted(sql, i, c)
            yield Token(NAME if c == "`" else STRING, text)
        elif c.isdigit():
            start = i
            while i < n and (sql[i].isalnum() or sql[i] in "._"):
                i += 1
            text = sql[start:i]
            # 1abc is a name in MySQL (an identifier may start with a digit)
            yield Token(NAME if not _is_number(text) else NUMBER, text)
        elif c.isalpha() or c in "_$" or ord(c) > 127:
            start = i
            while i < n and (sql[i].isalnum() or sql[i] in "_$" or ord(sql[i]) > 127):
                i += 1
            yield Token(WORD, sql[start:i])
        else:
            yield Token(SYMBOL, c)
            i += 1


def _is_number(text: str) -> bool:
    try:
        float(text.replace("_", "x"))
        return True
    except ValueError:
        return text.lower().startswith(("0x", "0b"))


def _quoted(sql: str, i: int, quote: str) -> Tuple[str, int]:
    """The text of a quoted string or name starting at i, and the index after it."""
    out, j, n = [], i + 1, len(sql)
    while j < n:
        c = sql[j]
        if c == quote:
            if j + 1 < n and sql[j + 1] == quote:  # a doubled quote stands for itself
                out.append(quote)
                j += 2
                continue
            return "".join(out), j + 1
        if c == "\\" and quote != "`" and j + 1 < n:
            out.append(sql[j + 1])
            j += 2
            continue
        out.append(c)
        j += 1
    return "".join(out), n


# ---- statements ----

# Kinds that never change a table's rows or columns (first word, or first two).
_HARMLESS_FIRST = frozenset(
    {
        "SET",
        "GRANT",
        "REVOKE",
        "FLUSH",
        "SHOW",
        "SELECT",
        "DO",
        "USE",
        "ANALYZE",
        "CHECK",
        "CHECKSUM",
        "OPTIMIZE",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "XA",
        "START",
        "LOCK",
        "UNLOCK",
        "PREPARE",
        "EXECUTE",
        "DEALLOCATE",
        "INSTALL",
        "UNINSTALL",
        "KILL",
        "RESET",
        "PURGE",
        "CHANGE",
        "STOP",
        "HELP",
        "BINLOG",
        "SIGNAL",
    }
)
_HARMLESS_OBJECTS = frozenset(
    {
        "VIEW",
        "USER",
        "ROLE",
        "DATABASE",
        "SCHEMA",
        "EVENT",
        "FUNCTION",
        "PROCEDURE",
        "SERVER",
        "SEQUENCE",
        "TRIGGER",
        "SPATIAL_REF_SYS",
        "PACKAGE",
        "TABLESPACE",
        "LOGFILE",
    }
)
_OBJECT_MODIFIERS = frozenset(
    {
        "OR",
        "REPLACE",
        "ONLINE",
        "OFFLINE",
        "IGNORE",
        "TEMPORARY",
        "DEFINER",
        "ALGORITHM",
        "SQL",
        "SECURITY",
        "UNIQUE",
        "FULLTEXT",
        "SPATIAL",
        "IF",
        "NOT",
        "EXISTS",
        "AGGREGATE",
        "NO_WRITE_TO_BINLOG",
        "LOCAL",
    }
)


# Reserved words: unquoted, they are never a name (a table called `select` is written quoted).
_RESERVED = frozenset(
    {
        "ADD",
        "ALL",
        "ALTER",
        "AND",
        "AS",
        "BY",
        "CASE",
        "CHANGE",
        "COLUMN",
        "CREATE",
        "DEFAULT",
        "DELETE",
        "DISTINCT",
        "DROP",
        "ELSE",
        "END",
        "EXISTS",
        "FROM",
        "GROUP",
        "HAVING",
        "IF",
        "IGNORE",
        "IN",
        "INDEX",
        "INNER",
        "INSERT",
        "INTERVAL",
        "INTO",
        "IS",
        "JOIN",
        "KEY",
        "LEFT",
        "LIKE",
        "LIMIT",
        "MODIFY",
        "NOT",
        "NULL",
        "ON",
        "OR",
        "ORDER",
        "PRIMARY",
        "RENAME",
        "REPLACE",
        "RIGHT",
        "SELECT",
        "SET",
        "TABLE",
        "THEN",
        "TO",
        "UNION",
        "UNIQUE",
        "UPDATE",
        "USING",
        "VALUES",
        "WHEN",
        "WHERE",
        "WITH",
    }
)


def _is_name(token: Token) -> bool:
    return token.kind == NAME or (token.kind == WORD and token.text.upper() not in _RESERVED)


def names_in(tokens: Sequence[Token], default_schema: str) -> List[TableName]:
    """Every `name` and `db`.`name` in the statement, resolved against the session's schema."""
    found: List[TableName] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if _is_name(token):
            if i + 2 < len(tokens) and tokens[i + 1].text == "." and _is_name(tokens[i + 2]):
                found.append((token.text, tokens[i + 2].text))
                i += 3
                continue
            found.append((default_schema, token.text))
        i += 1
    return found


def _object_kind(words: Sequence[Token]) -> Optional[str]:
    """CREATE/ALTER/DROP's object (TABLE, INDEX, VIEW, ...), past modifiers like OR REPLACE, ONLINE, IGNORE."""
    for token in words[1:12]:
        if token.kind != WORD:
            continue
        word = token.text.upper()
        if word in _OBJECT_MODIFIERS:
            continue
        return word
    return None


def tables_changed(query: str, default_schema: str, migrated: Collection[TableName]) -> List[TableName]:
    """The migrated tables a query event may change (empty: it changes none of them)."""
    tokens = tokenize(query)
    words = [t for t in tokens if t.kind == WORD]
    if not words:
        return []
    first = words[0].text.upper()
    if first in _HARMLESS_FIRST:
        return []
    if first == "DROP" and _object_kind(words) in ("DATABASE", "SCHEMA"):
        dropped = [t.text for t in tokens[2:] if t.kind in (NAME, WORD) and t.text.upper() not in ("IF", "EXISTS")]
        return [table for table in migrated if dropped and table[0] == dropped[0]]
    if first in ("CREATE", "ALTER", "DROP") and _object_kind(words) in _HARMLESS_OBJECTS:
        return []
    if first == "CREATE" and _object_kind(words) == "TABLE" and not any(w.text.upper() == "REPLACE" for w in words[:3]):
        return []  # a new table (CREATE TABLE ... LIKE/SELECT names only its sources, which it reads)
    named = set(names_in(tokens, default_schema))
    return [table for table in migrated if table in named]


_ROW_STATEMENTS = frozenset({"DELETE", "UPDATE", "REPLACE", "INSERT", "TRUNCATE", "LOAD"})


def changes_rows(query: str) -> bool:
    """Whether a statement logged as text (statement format) changes rows itself, as opposed to
    a table's definition: a parent's rows changed so can cascade to its children."""
    words = [t for t in tokenize(query) if t.kind == WORD]
    return bool(words) and words[0].text.upper() in _ROW_STATEMENTS
