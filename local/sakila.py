"""A Sakila-shaped database: the tables of MySQL's sample schema that a store's rentals touch
(country to payment: columns, keys, unique keys and foreign keys, ON UPDATE CASCADE as there),
with generated rows at a small scale. Not the sample's own data; no spatial column (address.
location) and no full-text copy (film_text), which the modelling examples do not use.

python local/sakila.py --database sakila [--customers 60]   (password from MYSQL_PASSWORD)
"""

import argparse
import datetime
import os
from typing import Dict, List

import pymysql

from mapping.identifiers import quote_identifier

CASCADE = "ON DELETE RESTRICT ON UPDATE CASCADE"
TABLES = [
    (
        "country",
        "country_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT, country VARCHAR(50) NOT NULL, "
        "last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
        "PRIMARY KEY (country_id)",
    ),
    (
        "city",
        "city_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT, city VARCHAR(50) NOT NULL, "
        "country_id SMALLINT UNSIGNED NOT NULL, "
        "last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
        "PRIMARY KEY (city_id), KEY idx_fk_country_id (country_id), "
        f"CONSTRAINT fk_city_country FOREIGN KEY (country_id) REFERENCES country (country_id) {CASCADE}",
    ),
    (
        "address",
        "address_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT, address VARCHAR(50) NOT NULL, "
        "address2 VARCHAR(50) DEFAULT NULL, district VARCHAR(20) NOT NULL, city_id SMALLINT UNSIGNED NOT NULL, "
        "postal_code VARCHAR(10) DEFAULT NULL, phone VARCHAR(20) NOT NULL, "
        "last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
        "PRIMARY KEY (address_id), KEY idx_fk_city_id (city_id), "
        f"CONSTRAINT fk_address_city FOREIGN KEY (city_id) REFERENCES city (city_id) {CASCADE}",
    ),
    (
        "language",
        "language_id TINYINT UNSIGNED NOT NULL AUTO_INCREMENT, name CHAR(20) NOT NULL, "
        "last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
        "PRIMARY KEY (language_id)",
    ),
    (
        "film",
        "film_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT, title VARCHAR(128) NOT NULL, "
        "description TEXT DEFAULT NULL, release_year YEAR DEFAULT NULL, language_id TINYINT UNSIGNED NOT NULL, "
        "original_language_id TINYINT UNSIGNED DEFAULT NULL, rental_duration TINYINT UNSIGNED NOT NULL DEFAULT 3, "
        "rental_rate DECIMAL(4,2) NOT NULL DEFAULT 4.99, length SMALLINT UNSIGNED DEFAULT NULL, "
        "replacement_cost DECIMAL(5,2) NOT NULL DEFAULT 19.99, "
        "rating ENUM('G','PG','PG-13','R','NC-17') DEFAULT 'G', "
        "special_features SET('Trailers','Commentaries','Deleted Scenes','Behind the Scenes') DEFAULT NULL, "
        "last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
        "PRIMARY KEY (film_id), KEY idx_title (title), KEY idx_fk_language_id (language_id), "
        f"CONSTRAINT fk_film_language FOREIGN KEY (language_id) REFERENCES language (language_id) {CASCADE}, "
        "CONSTRAINT fk_film_language_original FOREIGN KEY (original_language_id) "
        f"REFERENCES language (language_id) {CASCADE}",
    ),
    (
        "store",
        "store_id TINYINT UNSIGNED NOT NULL AUTO_INCREMENT, manager_staff_id TINYINT UNSIGNED NOT NULL, "
        "address_id SMALLINT UNSIGNED NOT NULL, "
        "last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
        "PRIMARY KEY (store_id), UNIQUE KEY idx_unique_manager (manager_staff_id), "
        f"CONSTRAINT fk_store_address FOREIGN KEY (address_id) REFERENCES address (address_id) {CASCADE}",
    ),
    (
        "staff",
        "staff_id TINYINT UNSIGNED NOT NULL AUTO_INCREMENT, first_name VARCHAR(45) NOT NULL, "
        "last_name VARCHAR(45) NOT NULL, address_id SMALLINT UNSIGNED NOT NULL, picture BLOB DEFAULT NULL, "
        "email VARCHAR(50) DEFAULT NULL, store_id TINYINT UNSIGNED NOT NULL, active BOOLEAN NOT NULL DEFAULT TRUE, "
        "username VARCHAR(16) NOT NULL, password VARCHAR(40) BINARY DEFAULT NULL, "
        "last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
        "PRIMARY KEY (staff_id), "
        f"CONSTRAINT fk_staff_store FOREIGN KEY (store_id) REFERENCES store (store_id) {CASCADE}, "
        f"CONSTRAINT fk_staff_address FOREIGN KEY (address_id) REFERENCES address (address_id) {CASCADE}",
    ),
    (
        "inventory",
        "inventory_id MEDIUMINT UNSIGNED NOT NULL AUTO_INCREMENT, film_id SMALLINT UNSIGNED NOT NULL, "
        "store_id TINYINT UNSIGNED NOT NULL, "
        "last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
        "PRIMARY KEY (inventory_id), KEY idx_store_id_film_id (store_id, film_id), "
        f"CONSTRAINT fk_inventory_store FOREIGN KEY (store_id) REFERENCES store (store_id) {CASCADE}, "
        f"CONSTRAINT fk_inventory_film FOREIGN KEY (film_id) REFERENCES film (film_id) {CASCADE}",
    ),
    (
        "customer",
        "customer_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT, store_id TINYINT UNSIGNED NOT NULL, "
        "first_name VARCHAR(45) NOT NULL, last_name VARCHAR(45) NOT NULL, email VARCHAR(50) DEFAULT NULL, "
        "address_id SMALLINT UNSIGNED NOT NULL, active BOOLEAN NOT NULL DEFAULT TRUE, create_date DATETIME NOT NULL, "
        "last_update TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
        "PRIMARY KEY (customer_id), KEY idx_fk_store_id (store_id), KEY idx_last_name (last_name), "
        f"CONSTRAINT fk_customer_address FOREIGN KEY (address_id) REFERENCES address (address_id) {CASCADE}, "
        f"CONSTRAINT fk_customer_store FOREIGN KEY (store_id) REFERENCES store (store_id) {CASCADE}",
    ),
    (
        "rental",
        "rental_id INT NOT NULL AUTO_INCREMENT, rental_date DATETIME NOT NULL, "
        "inventory_id MEDIUMINT UNSIGNED NOT NULL, customer_id SMALLINT UNSIGNED NOT NULL, "
        "return_date DATETIME DEFAULT NULL, staff_id TINYINT UNSIGNED NOT NULL, "
        "last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
        "PRIMARY KEY (rental_id), UNIQUE KEY (rental_date, inventory_id, customer_id), "
        "KEY idx_fk_inventory_id (inventory_id), KEY idx_fk_customer_id (customer_id), "
        f"CONSTRAINT fk_rental_staff FOREIGN KEY (staff_id) REFERENCES staff (staff_id) {CASCADE}, "
        f"CONSTRAINT fk_rental_inventory FOREIGN KEY (inventory_id) REFERENCES inventory (inventory_id) {CASCADE}, "
        f"CONSTRAINT fk_rental_customer FOREIGN KEY (customer_id) REFERENCES customer (customer_id) {CASCADE}",
    ),
    (
        "payment",
        "payment_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT, customer_id SMALLINT UNSIGNED NOT NULL, "
        "staff_id TINYINT UNSIGNED NOT NULL, rental_id INT DEFAULT NULL, amount DECIMAL(5,2) NOT NULL, "
        "payment_date DATETIME NOT NULL, "
        "last_update TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
        "PRIMARY KEY (payment_id), KEY idx_fk_staff_id (staff_id), KEY idx_fk_customer_id (customer_id), "
        "CONSTRAINT fk_payment_rental FOREIGN KEY (rental_id) REFERENCES rental (rental_id) "
        "ON DELETE SET NULL ON UPDATE CASCADE, "
        f"CONSTRAINT fk_payment_customer FOREIGN KEY (customer_id) REFERENCES customer (customer_id) {CASCADE}, "
        f"CONSTRAINT fk_payment_staff FOREIGN KEY (staff_id) REFERENCES staff (staff_id) {CASCADE}",
    ),
]
FIRST = ["MARY", "PATRICIA", "LINDA", "BARBARA", "ELIZABETH", "JENNIFER", "MARÍA", "SUSAN", "MARGARET", "DOROTHY"]
LAST = ["SMITH", "JOHNSON", "WILLIAMS", "JONES", "BROWN", "DAVIS", "MILLER", "WILSON", "MOORE", "O'TAYLOR"]
WORDS = ["ACADEMY", "DINOSAUR", "ACE", "GOLDFINGER", "ADAPTATION", "HOLES", "AFFAIR", "PREJUDICE", "AGENT", "TRUMAN"]
START = datetime.datetime(2005, 5, 24, 22, 53, 30)


def rows(customers: int) -> Dict[str, List[tuple]]:
    """Every table's rows, the same for the same scale."""
    films, inventory, rentals = customers * 2 // 3, customers * 3, customers * 8
    data: Dict[str, List[tuple]] = {
        "country": [(1, "Spain"), (2, "Japan"), (3, "Côte d'Ivoire")],
        "city": [(i, f"City {i}", 1 + i % 3) for i in range(1, 7)],
        "language": [(1, "English"), (2, "Italian"), (3, "Japanese")],
        "film": [
            (
                i,
                f"{WORDS[i % 10]} {WORDS[(i * 7) % 10]} {i}",
                None if i % 5 == 0 else f"A story of {WORDS[i % 10].lower()} #{i}",
                2006,
                1 + i % 3,
                None if i % 4 else 2,
                3 + i % 5,
                f"{0.99 + 2 * (i % 3):.2f}",
                None if i % 9 == 0 else 46 + i % 140,
                f"{9.99 + i % 21:.2f}",
                ["G", "PG", "PG-13", "R", "NC-17"][i % 5],
                None if i % 6 == 0 else ["Trailers", "Commentaries,Deleted Scenes", "Behind the Scenes"][i % 3],
            )
            for i in range(1, films + 1)
        ],
    }
    addresses = customers + 4
    data["address"] = [
        (
            i,
            f"{i} Main Street",
            None if i % 3 else "Flat 2",
            "District",
            1 + i % 6,
            None if i % 7 == 0 else f"{i:05}",
            f"555-{i:04}",
        )
        for i in range(1, addresses + 1)
    ]
    data["store"] = [(1, 1, 1), (2, 2, 2)]
    data["staff"] = [
        (1, "Mike", "Hillyer", 3, "mike@example.com", 1, 1, "Mike"),
        (2, "Jon", "Stephens", 4, None, 2, 1, "Jon"),
    ]
    data["inventory"] = [(i, 1 + i % films, 1 + i % 2) for i in range(1, inventory + 1)]
    data["customer"] = [
        (
            i,
            1 + i % 2,
            FIRST[i % 10],
            LAST[(i * 3) % 10],
            None if i % 11 == 0 else f"{FIRST[i % 10].lower()}.{i}@sakilacustomer.org",
            4 + i,
            0 if i % 13 == 0 else 1,
            (START + datetime.timedelta(days=-30, hours=i)).strftime("%Y-%m-%d %H:%M:%S"),
        )
        for i in range(1, customers + 1)
    ]
    data["rental"] = []
    data["payment"] = []
    for i in range(1, rentals + 1):
        rented = START + datetime.timedelta(hours=7 * i, seconds=i % 60)
        returned = None if i % 10 == 0 else rented + datetime.timedelta(days=1 + i % 7)
        customer = 1 + (i * 7) % customers
        data["rental"].append(
            (
                i,
                rented.strftime("%Y-%m-%d %H:%M:%S"),
                1 + (i * 5) % inventory,
                customer,
                returned and returned.strftime("%Y-%m-%d %H:%M:%S"),
                1 + i % 2,
            )
        )
        if i % 9 != 0:  # some rentals are not paid (yet)
            amount = f"{(0.99 + (i % 6)) * (2 if i % 17 == 0 else 1):.2f}"
            data["payment"].append(
                (
                    len(data["payment"]) + 1,
                    customer,
                    1 + i % 2,
                    None if i % 31 == 0 else i,
                    amount,
                    (rented + datetime.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S"),
                )
            )
    return data


COLUMNS = {
    "country": "country_id, country",
    "city": "city_id, city, country_id",
    "address": "address_id, address, address2, district, city_id, postal_code, phone",
    "language": "language_id, name",
    "film": (
        "film_id, title, description, release_year, language_id, original_language_id, rental_duration, "
        "rental_rate, length, replacement_cost, rating, special_features"
    ),
    "store": "store_id, manager_staff_id, address_id",
    "staff": "staff_id, first_name, last_name, address_id, email, store_id, active, username",
    "inventory": "inventory_id, film_id, store_id",
    "customer": "customer_id, store_id, first_name, last_name, email, address_id, active, create_date",
    "rental": "rental_id, rental_date, inventory_id, customer_id, return_date, staff_id",
    "payment": "payment_id, customer_id, staff_id, rental_id, amount, payment_date",
}


def create(conn, database: str, customers: int = 60) -> Dict[str, int]:
    """(Re)creates the database and fills it; {table: rows}."""
    quoted = quote_identifier(database)
    data = rows(customers)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {quoted}")
        cur.execute(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
        cur.execute(f"USE {quoted}")
        cur.execute("SET FOREIGN_KEY_CHECKS = 0")  # store and staff name each other
        for name, body in TABLES:
            cur.execute(f"CREATE TABLE {name} ({body}) ENGINE=InnoDB")
            columns = COLUMNS[name]
            marks = ", ".join(["%s"] * len(columns.split(",")))
            cur.executemany(f"INSERT INTO {name} ({columns}) VALUES ({marks})", data[name])
        cur.execute(
            "ALTER TABLE store ADD CONSTRAINT fk_store_staff FOREIGN KEY (manager_staff_id) "
            f"REFERENCES staff (staff_id) {CASCADE}"
        )
        cur.execute("SET FOREIGN_KEY_CHECKS = 1")
    conn.commit()
    return {name: len(data[name]) for name, _ in TABLES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sakila")
    parser.add_argument("--customers", type=int, default=60)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("MYSQL_PORT", "23306")))
    parser.add_argument("--user", default=os.environ.get("MYSQL_USER", "root"))
    args = parser.parse_args()
    conn = pymysql.connect(
        host=args.host, port=args.port, user=args.user, password=os.environ.get("MYSQL_PASSWORD", ""), autocommit=False
    )
    print(create(conn, args.database, args.customers))


if __name__ == "__main__":
    main()
