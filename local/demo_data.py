"""Create and fill the demo database: a small shop with every common table shape.

python local/demo_data.py --database shop [--scale 1]   (password from MYSQL_PASSWORD)
"""

import argparse
import datetime
import decimal
import os
import random

import pymysql

from mapping.identifiers import quote_identifier

FIRST = [
    "Ana",
    "Björn",
    "Chloé",
    "Dmitri",
    "Eşref",
    "Fatima",
    "Günther",
    "Hiroshi",
    "Inès",
    "José",
    "Kateřina",
    "Łukasz",
    "Mía",
    "Nguyễn",
    "Olga",
    "Øyvind",
    "Priyanka",
    "Quentin",
    "Renée",
    "Zoë",
]
LAST = [
    "Álvarez",
    "Brontë",
    "Černý",
    "Dubois",
    "Eriksson",
    "Føllesdal",
    "García",
    "Hämäläinen",
    "Ibáñez",
    "Jørgensen",
    "Kowalski",
    "Lefèvre",
    "Müller",
    "Nuñez",
    "O'Brien",
    "Pérez",
]
WORDS = [
    "lamp",
    "chair",
    "desk",
    "mug",
    "kettle",
    "rug",
    "shelf",
    "sofa",
    "vase",
    "clock",
    "tea ☕",
    "plant 🌱",
    "pillow",
    "frame",
    "candle",
    "bowl",
]

SCHEMA = [
    """CREATE TABLE customers (
        id INT UNSIGNED NOT NULL PRIMARY KEY,
        email VARCHAR(190) NOT NULL UNIQUE,
        full_name VARCHAR(100) NOT NULL,
        phone VARCHAR(30) NULL,
        balance DECIMAL(12,2) NOT NULL DEFAULT 0,
        is_vip TINYINT(1) NOT NULL DEFAULT 0,
        signed_up DATETIME NOT NULL,
        birthday DATE NULL
    )""",
    """CREATE TABLE products (
        sku VARCHAR(20) NOT NULL PRIMARY KEY,
        title VARCHAR(200) NOT NULL,
        price DECIMAL(10,2) NOT NULL,
        weight_kg DOUBLE NULL,
        description TEXT NULL,
        updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
    )""",
    """CREATE TABLE orders (
        id BIGINT NOT NULL PRIMARY KEY,
        customer_id INT UNSIGNED NOT NULL,
        status ENUM('new','paid','shipped','cancelled') NOT NULL,
        ordered_at DATETIME(6) NOT NULL,
        total DECIMAL(12,2) NOT NULL,
        note VARCHAR(255) NULL
    )""",
    """CREATE TABLE order_lines (
        order_id BIGINT NOT NULL,
        line_no SMALLINT NOT NULL,
        sku VARCHAR(20) NOT NULL,
        quantity INT NOT NULL,
        unit_price DECIMAL(10,2) NOT NULL,
        PRIMARY KEY (order_id, line_no)
    )""",
    """CREATE TABLE stock_levels (
        warehouse VARCHAR(10) NOT NULL,
        sku VARCHAR(20) NOT NULL,
        day DATE NOT NULL,
        on_hand INT NOT NULL,
        PRIMARY KEY (warehouse, sku, day)
    )""",
    """CREATE TABLE page_views (
        viewed_at DATETIME NOT NULL,
        path VARCHAR(200) NOT NULL,
        customer_id INT UNSIGNED NULL
    )""",
]


def rows(scale: int, rng: random.Random):
    customers, products, orders, lines, stock, views = [], [], [], [], [], []
    start = datetime.datetime(2023, 1, 1)
    for i in range(1, 500 * scale + 1):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        customers.append(
            (
                i,
                f"user{i}@example.com",
                name,
                None if i % 4 == 0 else f"+1-555-{i:04d}",
                decimal.Decimal(rng.randint(0, 1000000)) / 100,
                rng.choice([0, 1]),
                start + datetime.timedelta(minutes=rng.randint(0, 900000)),
                None if i % 3 == 0 else datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randint(0, 20000)),
            )
        )
    for i in range(1, 200 * scale + 1):
        products.append(
            (
                f"SKU-{i:05d}",
                f"{rng.choice(WORDS)} {rng.choice(WORDS)} #{i}",
                decimal.Decimal(rng.randint(100, 99999)) / 100,
                None if i % 5 == 0 else round(rng.uniform(0.1, 40), 3),
                None if i % 2 else f'Line one\nLine two\twith tab, "quotes" and a backslash \\ for {i}',
                datetime.datetime(2024, 1, 1)
                + datetime.timedelta(seconds=rng.randint(0, 10**7), milliseconds=rng.randint(0, 999)),
            )
        )
    line_count = 0
    for i in range(1, 1500 * scale + 1):
        n_lines = rng.randint(1, 4)
        total = decimal.Decimal(0)
        for line in range(1, n_lines + 1):
            price = decimal.Decimal(rng.randint(100, 9999)) / 100
            qty = rng.randint(1, 5)
            total += price * qty
            lines.append((i, line, f"SKU-{rng.randint(1, 200 * scale):05d}", qty, price))
            line_count += 1
        orders.append(
            (
                10_000_000_000 + i,
                rng.randint(1, 500 * scale),
                rng.choice(["new", "paid", "shipped", "cancelled"]),
                start + datetime.timedelta(seconds=rng.randint(0, 3 * 10**7), microseconds=rng.randint(0, 999999)),
                total,
                None if i % 7 else "leave at the door 🚪",
            )
        )
    for warehouse in ("BER", "LIS", "OSL#2"):  # '#' is the composite key separator: must still work
        for sku in range(1, 40 * scale + 1):
            for day in range(5):
                stock.append(
                    (
                        warehouse,
                        f"SKU-{sku:05d}",
                        datetime.date(2024, 5, 1) + datetime.timedelta(days=day),
                        rng.randint(0, 500),
                    )
                )
    for i in range(600 * scale):
        viewed = start + datetime.timedelta(seconds=rng.randint(0, 3000))
        view = (
            viewed,
            rng.choice(["/", "/cart", "/products", "/checkout", "/søg"]),
            None if i % 6 == 0 else rng.randint(1, 50),
        )
        views.append(view)
        if i % 50 == 0:
            views.append(view)  # exact duplicate rows: a table without a key keeps both
    return {
        "customers": customers,
        "products": products,
        "orders": orders,
        "order_lines": lines,
        "stock_levels": stock,
        "page_views": views,
    }


def create(conn, database: str, scale: int, seed: int = 7) -> dict:
    quoted = quote_identifier(database)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {quoted}")
        cur.execute(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        cur.execute(f"USE {quoted}")
        for statement in SCHEMA:
            cur.execute(statement)
        cur.execute("CREATE VIEW paid_orders AS SELECT * FROM orders WHERE status = 'paid'")
        counts = {}
        for table, values in rows(scale, random.Random(seed)).items():
            marks = ", ".join(["%s"] * len(values[0]))
            cur.executemany(f"INSERT INTO {quote_identifier(table)} VALUES ({marks})", values)
            counts[table] = len(values)
        for table in counts:
            cur.execute(f"ANALYZE TABLE {quote_identifier(table)}")
            cur.fetchall()
    conn.commit()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="shop")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("M2D_MYSQL_PORT", "13306")))
    parser.add_argument("--user", default="root")
    args = parser.parse_args()
    conn = pymysql.connect(
        host=args.host, port=args.port, user=args.user, password=os.environ["MYSQL_PASSWORD"], charset="utf8mb4"
    )
    counts = create(conn, args.database, args.scale)
    print(f"demo database {args.database}: " + ", ".join(f"{t} {n} rows" for t, n in counts.items()))


if __name__ == "__main__":
    main()
