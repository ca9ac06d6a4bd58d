"""A DynamoDB proxy for tests: a per-table write budget and partial batches.

Sits in front of dynalite (which never throttles and never returns UnprocessedItems) and
behaves like DynamoDB under load:
- BatchWriteItem / PutItem above the table's WCU budget (token bucket, one second of
  burst) get ProvisionedThroughputExceededException;
- a configurable fraction of each batch's items comes back as UnprocessedItems;
- --per-key-wcu: each partition key value takes at most this many WCU/s (DynamoDB: 1,000);
  items over it come back as UnprocessedItems, and a call none of whose items fit is
  throttled, as BatchWriteItem does;
- --double-after: an on-demand table that starts at --wcu and doubles its capacity once it
  has been used at 90% or more of it for that many seconds in a row;
- --latency-ms: every answer waits that long, as a region's round trip does (10-20 ms);
- --import-describes N: each import reads IN_PROGRESS the first N times it is described, as
  a large table's import does for minutes (moto's ends at once); counted, not timed.
GET /stats returns what each table consumed, and when.

    python local/throttle_proxy.py --port 28001 --upstream http://127.0.0.1:28000 --wcu 500 --unprocessed 0.3
    python local/throttle_proxy.py --port 28001 --upstream ... --wcu 2000 --double-after 10 --per-key-wcu 1000
    python local/throttle_proxy.py --port 28001 --upstream ... --wcu 1e9 --latency-ms 15
"""

import argparse
import http.client
import json
import math
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

_local = threading.local()
THROTTLED = {
    "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    "message": "The level of configured provisioned throughput for the table was exceeded.",
}


def item_units(item: dict) -> int:
    size = 0
    for name, value in item.items():
        size += len(name.encode("utf-8"))
        if "S" in value:
            size += len(value["S"].encode("utf-8"))
        else:
            size += 1
    return max(1, math.ceil(size / 1024))


class Bucket:
    """A token bucket holding one second of its rate."""

    def __init__(self, rate: float):
        self.rate = rate
        self.tokens = rate
        self.last = time.monotonic()

    def take(self, units: int, now: float) -> bool:
        """Refill for the time since the last call; spend units if there are that many."""
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if units > self.tokens:
            return False
        self.tokens -= units
        return True


SUSTAINED_SHARE = 0.9  # on-demand: a second counts toward doubling at this share of capacity


class Budget:
    def __init__(self, wcu: float, double_after: float = 0, per_key_wcu: float = 0):
        self.bucket = Bucket(wcu)  # the table's capacity
        self.double_after = double_after
        self.per_key_wcu = per_key_wcu
        self.keys = {}  # partition key value -> Bucket
        self.key_throttled = 0  # items held back by the per-key limit
        self.doublings = []  # (second, new capacity)
        self.consumed = 0
        self.first = None
        self.latest = None
        self.throttled = 0
        self.calls = 0
        self.unprocessed = 0
        self.items = 0
        self.per_second = {}  # whole seconds since the first write -> units consumed

    def take(self, units: int) -> bool:
        now = time.monotonic()
        self._grow(now)
        self.calls += 1
        if not self.bucket.take(units, now):
            self.throttled += 1
            return False
        self.consumed += units
        self.first = self.first if self.first is not None else now
        self.latest = now
        second = int(now - self.first)
        self.per_second[second] = self.per_second.get(second, 0) + units
        return True

    def key_allows(self, value: str, units: int) -> bool:
        """The per-key-value limit: False holds the item back (its units are not spent)."""
        if not self.per_key_wcu:
            return True
        if not self.keys.setdefault(value, Bucket(self.per_key_wcu)).take(units, time.monotonic()):
            self.key_throttled += 1
            return False
        return True

    @property
    def wcu(self) -> float:
        return self.bucket.rate

    def _grow(self, now: float) -> None:
        """On-demand: capacity doubles after double_after whole seconds in a row at >= 90% of it."""
        if not self.double_after or self.first is None:
            return
        current = int(now - self.first)
        window = range(current - int(self.double_after), current)
        since = self.doublings[-1][0] if self.doublings else 0
        if window.start < since:
            return
        if all(self.per_second.get(s, 0) >= SUSTAINED_SHARE * self.wcu for s in window):
            self.bucket.rate *= 2
            self.doublings.append((current, self.wcu))


class Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address,
        upstream: str,
        wcu: float,
        unprocessed: float,
        seed: int,
        double_after: float = 0,
        per_key_wcu: float = 0,
        latency: float = 0,
        import_describes: int = 0,
    ):
        super().__init__(address, Handler)
        self.latency = latency
        self.import_describes = import_describes
        self.described = {}  # ImportArn -> times described
        self.upstream = urlparse(upstream)
        self.wcu = wcu
        self.unprocessed = unprocessed
        self.double_after = double_after
        self.per_key_wcu = per_key_wcu
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.budgets = {}
        self.hash_attributes = {}  # table -> its HASH attribute, asked of the upstream once

    def budget(self, table: str) -> Budget:
        if table not in self.budgets:
            self.budgets[table] = Budget(self.wcu, self.double_after, self.per_key_wcu)
        return self.budgets[table]

    def hash_attribute(self, table: str, headers) -> str:
        if table not in self.hash_attributes:
            upstream = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
            forwarded = {
                k: v
                for k, v in headers.items()
                if k.lower() not in ("host", "content-length", "connection", "x-amz-target")
            }
            body = json.dumps({"TableName": table}).encode()
            forwarded.update({"X-Amz-Target": "DynamoDB_20120810.DescribeTable", "Content-Length": str(len(body))})
            upstream.request("POST", "/", body=body, headers=forwarded)
            schema = json.loads(upstream.getresponse().read())["Table"]["KeySchema"]
            upstream.close()
            self.hash_attributes[table] = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
        return self.hash_attributes[table]


class Handler(BaseHTTPRequestHandler):
    server: Proxy
    protocol_version = "HTTP/1.1"  # keep-alive: botocore reuses its connections
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms ACK stalls

    def log_message(self, *args):
        pass

    def do_GET(self):
        with self.server.lock:
            stats = {
                name: {
                    "consumed": b.consumed,
                    "first": b.first,
                    "last": b.latest,
                    "throttled": b.throttled,
                    "calls": b.calls,
                    "unprocessed": b.unprocessed,
                    "items": b.items,
                    "wcu": b.wcu,
                    "key_throttled": b.key_throttled,
                    "doublings": b.doublings,
                    "per_second": [b.per_second.get(i, 0) for i in range(max(b.per_second, default=-1) + 1)],
                }
                for name, b in self.server.budgets.items()
            }
        self._reply(200, json.dumps(stats).encode())

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        target = self.headers.get("X-Amz-Target", "")
        if target.endswith(".BatchWriteItem"):
            return self._batch_write(json.loads(body))
        if target.endswith(".DescribeImport") and self.server.import_describes:
            return self._describe_import(body)
        if target.endswith(".PutItem"):
            request = json.loads(body)
            with self.server.lock:
                if not self.server.budget(request["TableName"]).take(item_units(request["Item"])):
                    return self._reply(400, json.dumps(THROTTLED).encode())
        status, payload = self._forward(body)
        self._reply(status, payload)

    def _batch_write(self, request: dict):
        kept, held_back = {}, {}
        hash_of = {
            table: self.server.hash_attribute(table, self.headers) if self.server.per_key_wcu else None
            for table in request["RequestItems"]
        }
        with self.server.lock:
            for table, writes in request["RequestItems"].items():
                budget = self.server.budget(table)
                back = [w for w in writes if self.server.rng.random() < self.server.unprocessed]
                ids = {id(w) for w in back}
                over_key = [
                    w
                    for w in writes
                    if hash_of[table]
                    and id(w) not in ids
                    and "PutRequest" in w
                    and not budget.key_allows(
                        json.dumps(w["PutRequest"]["Item"][hash_of[table]]), item_units(w["PutRequest"]["Item"])
                    )
                ]
                if over_key and len(over_key) + len(back) == len(writes) and not back:
                    budget.calls += 1
                    budget.throttled += 1
                    return self._reply(400, json.dumps(THROTTLED).encode())
                back += over_key
                ids |= {id(w) for w in over_key}
                go = [w for w in writes if id(w) not in ids]
                units = sum(item_units(w["PutRequest"]["Item"]) for w in go if "PutRequest" in w)
                if go and not budget.take(units):
                    return self._reply(400, json.dumps(THROTTLED).encode())
                budget.unprocessed += len(back)
                budget.items += len(go)
                if go:
                    kept[table] = go
                if back:
                    held_back[table] = back
        response = {"UnprocessedItems": {}}
        if kept:
            status, payload = self._forward(json.dumps({"RequestItems": kept}).encode())
            if status != 200:
                return self._reply(status, payload)
            response = json.loads(payload)
        response.setdefault("UnprocessedItems", {})
        for table, writes in held_back.items():
            response["UnprocessedItems"].setdefault(table, []).extend(writes)
        self._reply(200, json.dumps(response).encode())

    def _describe_import(self, body: bytes):
        status, payload = self._forward(body)
        if status == 200:
            answer = json.loads(payload)
            description = answer["ImportTableDescription"]
            with self.server.lock:
                seen = self.server.described.get(description["ImportArn"], 0) + 1
                self.server.described[description["ImportArn"]] = seen
            if seen <= self.server.import_describes:
                description.update(ImportStatus="IN_PROGRESS", ProcessedItemCount=0)
                for ended in ("EndTime", "ImportedItemCount"):
                    description.pop(ended, None)
                payload = json.dumps(answer).encode()
        self._reply(status, payload)

    def _forward(self, body: bytes):
        if not hasattr(_local, "upstream"):  # one kept-alive upstream connection per client connection
            upstream = self.server.upstream
            _local.upstream = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        headers["Content-Length"] = str(len(body))
        try:
            _local.upstream.request("POST", "/", body=body, headers=headers)
            answer = _local.upstream.getresponse()
        except (http.client.HTTPException, OSError):
            _local.upstream.close()
            _local.upstream.request("POST", "/", body=body, headers=headers)
            answer = _local.upstream.getresponse()
        return answer.status, answer.read()

    def _reply(self, status: int, payload: bytes):
        if self.server.latency:
            time.sleep(self.server.latency)
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--wcu", type=float, default=500.0, help="write units per second per table")
    parser.add_argument("--unprocessed", type=float, default=0.0, help="fraction of batch items left unprocessed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--double-after",
        type=float,
        default=0,
        help="on-demand: double the capacity after this many seconds in a row at >= 90%% of it",
    )
    parser.add_argument("--per-key-wcu", type=float, default=0, help="WCU/s per partition key value (0: no limit)")
    parser.add_argument("--latency-ms", type=float, default=0, help="added to every answer (a region's round trip)")
    parser.add_argument(
        "--import-describes", type=int, default=0, help="each import reads IN_PROGRESS this many times first"
    )
    args = parser.parse_args()
    Proxy(
        (args.host, args.port),
        args.upstream,
        args.wcu,
        args.unprocessed,
        args.seed,
        args.double_after,
        args.per_key_wcu,
        args.latency_ms / 1000,
        args.import_describes,
    ).serve_forever()


if __name__ == "__main__":
    main()
