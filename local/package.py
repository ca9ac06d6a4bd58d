"""make package: dist/ for spark-submit on EMR and for AWS Glue.

dist/migrate.py            the spark-submit entry script
dist/glue_migrate.py       the Glue script
dist/mysql2dynamodb.zip    jobs + mapping, for --py-files (Glue: --extra-py-files)
dist/deps.zip              pure-Python dependencies EMR lacks (pymysql, mysql-replication)
dist/conf/                 defaults and examples
"""

import os
import shutil
import zipfile

import pymysql
import pymysqlreplication

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST = os.path.join(REPO, "dist")


def zip_packages(target: str, packages) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for root_dir, package in packages:
            for folder, dirs, files in os.walk(os.path.join(root_dir, package)):
                dirs[:] = [d for d in dirs if d != "__pycache__"]
                for name in sorted(files):
                    if name.endswith(".py"):
                        path = os.path.join(folder, name)
                        archive.write(path, os.path.relpath(path, root_dir))


def main() -> None:
    shutil.rmtree(DIST, ignore_errors=True)
    os.makedirs(DIST)
    zip_packages(os.path.join(DIST, "mysql2dynamodb.zip"), [(REPO, "jobs"), (REPO, "mapping")])
    zip_packages(
        os.path.join(DIST, "deps.zip"),
        [
            (os.path.dirname(os.path.dirname(pymysql.__file__)), "pymysql"),
            (os.path.dirname(os.path.dirname(pymysqlreplication.__file__)), "pymysqlreplication"),
        ],
    )
    shutil.copy(os.path.join(REPO, "jobs", "migrate.py"), os.path.join(DIST, "migrate.py"))
    shutil.copy(os.path.join(REPO, "jobs", "glue_migrate.py"), os.path.join(DIST, "glue_migrate.py"))
    shutil.copytree(os.path.join(REPO, "conf"), os.path.join(DIST, "conf"), ignore=shutil.ignore_patterns("spark"))
    for name in sorted(os.listdir(DIST)):
        print(f"dist/{name}")


if __name__ == "__main__":
    main()
