"""moto's server for import mode (tests, bench), with one fix: a real JSON parser for ImportTable.

moto 5 reads staged DynamoDB JSON with py_partiql_parser's JsonParser, which ends a string at
any quote character and keeps escapes as written ("a\\"b" arrives as 'a\\'). DynamoDB's own
import reads standard JSON lines, so the test double parses them as DynamoDB does; nothing
else of moto is changed.

    python local/moto_server.py -H 127.0.0.1 -p PORT
"""

import json
import sys


class JsonLines:
    @staticmethod
    def parse(original: str):
        for line in original.splitlines():
            if line.strip():
                yield json.loads(line)


def main() -> None:
    import py_partiql_parser
    from moto.server import main as moto_main

    py_partiql_parser.JsonParser = JsonLines  # moto imports it from the package at import time
    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
