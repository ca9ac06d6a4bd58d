"""A database that covers every MySQL type and every awkward table shape."""

import json
import os
import random

from mapping.identifiers import quote_identifier

DATABASE = "fidélité `odd` db"

TYPES_COLUMNS = """
    id INT NOT NULL PRIMARY KEY,
    c_tinyint TINYINT, c_utinyint TINYINT UNSIGNED, c_bool TINYINT(1), c_smallint SMALLINT,
    c_mediumint MEDIUMINT, c_int INT, c_uint INT UNSIGNED, c_bigint BIGINT, c_ubigint BIGINT UNSIGNED,
    c_dec DECIMAL(20,4), c_dec2 DECIMAL(5,2), c_float FLOAT, c_double DOUBLE,
    c_date DATE, c_dt DATETIME, c_dt6 DATETIME(6), c_ts TIMESTAMP(3) NULL DEFAULT NULL, c_time TIME, c_time3 TIME(3),
    c_year YEAR, c_char CHAR(10), c_varchar VARCHAR(200), c_text MEDIUMTEXT,
    c_enum ENUM('small','medium large'), c_set SET('a','b','c'), c_json JSON,
    c_binary BINARY(4), c_varbinary VARBINARY(20), c_blob BLOB, c_bit1 BIT(1), c_bit64 BIT(64),
    c_geom GEOMETRY, c_point POINT
"""

_blob = bytes(random.Random(3).randrange(256) for _ in range(1000))

TYPES_ROWS = [
    # minimum values
    "(1, -128, 0, -1, -32768, -8388608, -2147483648, 0, -9223372036854775808, 0,"
    " -9999999999999999.9999, -999.99, -3.40282e38, -1.7976931348623157e308,"
    " '1000-01-01', '1000-01-01 00:00:00', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000',"
    " '-838:59:59', '-838:59:58.999', 1901, '', '', '', 'small', '', '[]', X'00000000', X'', X'',"
    " b'0', b'0', ST_GeomFromText('POINT(0 0)'), ST_GeomFromText('POINT(-180 -90)'))",
    # maximum values
    "(2, 127, 255, 2, 32767, 8388607, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,"
    " 9999999999999999.9999, 999.99, 3.40282e38, 1.7976931348623157e308,"
    " '9999-12-31', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999',"
    " '838:59:59', '838:59:58.999', 2155, 'abcdefghij', 'emoji 😀🎉 and 中文 and ñ', %(long_text)s,"
    " 'medium large', 'a,b,c', '{\"k\": [1, 2.5, \"ü\"], \"n\": null}', X'FFFFFFFF', X'00FF10', %(blob)s,"
    " b'1', b'1111111111111111111111111111111111111111111111111111111111111111',"
    " ST_GeomFromText('LINESTRING(0 0,1.5 2,3 -4)'), ST_GeomFromText('POINT(180 90)'))",
    # NULL everywhere but the key
    "(3" + ", NULL" * 33 + ")",
    # zero dates, special floats, control characters and quotes
    "(4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12.5, 1e20, -0e0,"
    " '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000', '0000-00-00 00:00:00.000',"
    " '100:00:00', '-00:00:01.500', 0, 'a  ', %(specials)s, '', 'small', 'b', '\"str\"', 'ab', 'x', 'y',"
    " b'1', b'101', ST_GeomFromText('POLYGON((0 0,4 0,4 4,0 0))'), ST_GeomFromText('POINT(1.25 -2.5)'))",
    # a wall-clock time that does not exist in America/New_York (DST gap), and 0.1+0.2
    "(5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.0001, -0.01, 0.1, 0.1e0 + 0.2e0,"
    " '2024-03-10', '2024-03-10 02:30:00', '2024-03-10 02:30:00.000001', '2024-03-10 07:30:00.500',"
    " '00:00:00', '23:59:59.999', 2024, 'x', 'trailing space ', 'ü', 'medium large', 'a,c', '{}',"
    " X'01', X'0102', X'03', b'0', b'1000000000000000000000000000000000000000000000000000000000000000',"
    " NULL, NULL)",
]
TYPES_PARAMS = {
    "long_text": "x" * 60000 + "☃",
    "blob": _blob,
    "specials": "tab\there\nnewline\r\n \\ backslash 'single' \"double\" `tick` \x00nul",
}

STATEMENTS = [
    "CREATE TABLE types (" + TYPES_COLUMNS + ")",
    # reserved words, spaces, backticks, $ and non-ASCII as identifiers
    "CREATE TABLE `select` (`from` INT NOT NULL PRIMARY KEY, `a b` VARCHAR(20), `naïve` TEXT,"
    " `tick``col` VARCHAR(5), `$dollar` INT)",
    "INSERT INTO `select` VALUES (1, 'x', 'é', 'a`b', 5), (2, NULL, '', '', NULL)",
    # 3-column key whose values contain the separator and the escape character
    "CREATE TABLE stock (wh VARCHAR(10) NOT NULL, sku VARCHAR(30) NOT NULL, day DATE NOT NULL, qty INT,"
    " PRIMARY KEY (wh, sku, day))",
    "INSERT INTO stock VALUES ('w1', 'a#b', '2024-01-01', 1), ('w1', 'a', '2024-01-01', 2),"
    " ('w1', 'a\\\\#b', '2024-01-01', 3), ('w1', 'a\\\\', '2024-01-01', 4), ('w1', '', '2024-01-01', 5),"
    " ('w1', '#', '2024-01-02', 6), ('w2', 'a#b', '2024-01-01', 7)",
    # no key at all: exact duplicates must survive as separate items
    "CREATE TABLE events (at DATETIME, kind VARCHAR(10), detail VARCHAR(20))",
    "INSERT INTO events VALUES ('2024-01-01 00:00:00', 'click', NULL), ('2024-01-01 00:00:00', 'click', NULL),"
    " ('2024-01-01 00:00:00', 'click', NULL), ('2024-01-01 00:00:00', 'click', ''), (NULL, NULL, NULL),"
    " ('2024-01-01 00:00:01', 'view', 'x')",
    # no primary key; the NOT NULL unique key (not the nullable one) becomes the key
    "CREATE TABLE users_u (nick VARCHAR(20) NULL, email VARCHAR(50) NOT NULL, name VARCHAR(20),"
    " UNIQUE KEY a_nick (nick), UNIQUE KEY b_email (email))",
    "INSERT INTO users_u VALUES (NULL, 'a@x', 'A'), ('bee', 'b@x', 'B'), (NULL, 'c@x', NULL)",
    # rows DynamoDB cannot hold: go to rejects, the rest migrates
    "CREATE TABLE docs (id INT PRIMARY KEY, body LONGTEXT)",
    "INSERT INTO docs VALUES (1, 'small'), (2, REPEAT('y', 500000)), (3, REPEAT('z', 400000))",
    "CREATE TABLE codes (code VARCHAR(700) NOT NULL PRIMARY KEY, v INT)",
    "INSERT INTO codes VALUES ('', 1), (REPEAT('😀', 600), 2), ('ok', 3)",
    "CREATE TABLE pairs (a INT NOT NULL, b VARCHAR(400) NOT NULL, PRIMARY KEY (a, b))",
    "INSERT INTO pairs VALUES (1, REPEAT('😀', 300)), (1, 'fine')",
    "CREATE TABLE empty_one (id INT PRIMARY KEY, v VARCHAR(5))",
    "CREATE VIEW v_types AS SELECT id FROM types",
]

EXPECTED_REJECTS = {  # (table, key value) -> reason fragment
    ("docs", "2"): "over DynamoDB's 409600-byte limit",
    ("codes", ""): "HASH key attribute 'code' is an empty string",
    ("codes", "😀" * 600): "HASH key attribute 'code' is 2400 bytes, over the 2048-byte limit",
    ("pairs", "1"): "RANGE key attribute 'b' is 1200 bytes, over the 1024-byte limit",
}


def create(conn) -> None:
    quoted = quote_identifier(DATABASE)
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")  # allow zero dates
        cur.execute("SET time_zone = '+00:00'")
        cur.execute(f"DROP DATABASE IF EXISTS {quoted}")
        cur.execute(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4")
        cur.execute(f"USE {quoted}")
        for statement in STATEMENTS[:1]:
            cur.execute(statement)
        for row in TYPES_ROWS:
            cur.execute("INSERT INTO types VALUES " + row, TYPES_PARAMS if "%(" in row else None)
        for statement in STATEMENTS[1:]:
            cur.execute(statement)


def rejected_rows(rejects_root: str, database: str = DATABASE) -> dict:
    """(table, key value) -> reason, from the rejects files the job wrote for the tables that reject."""
    found = {}
    for table in ("docs", "codes", "pairs"):
        folder = os.path.join(rejects_root, database, table)
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                for line in handle:
                    record = json.loads(line)
                    assert (record["database"], record["table"]) == (database, table)
                    found[(table, next(iter(record["key"].values())))] = record["reason"]
    return found
