"""A DynamoDB proxy for tests: a per-table write budget and partial batches.

Sits in front of dynalite (which never throttles and never returns UnprocessedItems) and
behaves like a provisioned table under load:
- BatchWriteItem / PutItem above the table's WCU budget (token bucket, one second of
  burst) get ProvisionedThroughputExceededException;
- a configurable fraction of each batch's items comes back as UnprocessedItems.
GET /stats returns what each table consumed, and when.

    python local/throttle_proxy.py --port 28001 --upstream http://127.0.0.1:28000 --wcu 500 --unprocessed 0.3
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
THROTTLED = {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
             "message": "The level of configured provisioned throughput for the table was exceeded."}


def item_units(item: dict) -> int:
    size = 0
    for name, value in item.items():
        size += len(name.encode("utf-8"))
        if "S" in value:
            size += len(value["S"].encode("utf-8"))
        else:
            size += 1
    return max(1, math.ceil(size / 1024))


class Budget:
    def __init__(self, wcu: float):
        self.wcu = wcu
        self.tokens = wcu
        self.last = time.monotonic()
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
        self.tokens = min(self.wcu, self.tokens + (now - self.last) * self.wcu)
        self.last = now
        self.calls += 1
        if units > self.tokens:
            self.throttled += 1
            return False
        self.tokens -= units
        self.consumed += units
        self.first = self.first if self.first is not None else now
        self.latest = now
        second = int(now - self.first)
        self.per_second[second] = self.per_second.get(second, 0) + units
        return True


class Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, upstream: str, wcu: float, unprocessed: float, seed: int):
        super().__init__(address, Handler)
        self.upstream = urlparse(upstream)
        self.wcu = wcu
        self.unprocessed = unprocessed
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.budgets = {}

    def budget(self, table: str) -> Budget:
        if table not in self.budgets:
            self.budgets[table] = Budget(self.wcu)
        return self.budgets[table]


class Handler(BaseHTTPRequestHandler):
    server: Proxy
    protocol_version = "HTTP/1.1"  # keep-alive: botocore reuses its connections
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms ACK stalls

    def log_message(self, *args):
        pass

    def do_GET(self):
        with self.server.lock:
            stats = {name: {"consumed": b.consumed, "first": b.first, "last": b.latest, "throttled": b.throttled, "calls": b.calls,
                            "unprocessed": b.unprocessed, "items": b.items, "wcu": b.wcu,
                            "per_second": [b.per_second.get(i, 0) for i in range(max(b.per_second, default=-1) + 1)]}
                     for name, b in self.server.budgets.items()}
        self._reply(200, json.dumps(stats).encode())

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        target = self.headers.get("X-Amz-Target", "")
        if target.endswith(".BatchWriteItem"):
            return self._batch_write(json.loads(body))
        if target.endswith(".PutItem"):
            request = json.loads(body)
            with self.server.lock:
                if not self.server.budget(request["TableName"]).take(item_units(request["Item"])):
                    return self._reply(400, json.dumps(THROTTLED).encode())
        status, payload = self._forward(body)
        self._reply(status, payload)

    def _batch_write(self, request: dict):
        kept, held_back = {}, {}
        with self.server.lock:
            for table, writes in request["RequestItems"].items():
                budget = self.server.budget(table)
                back = [w for w in writes if self.server.rng.random() < self.server.unprocessed]
                ids = {id(w) for w in back}
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
    args = parser.parse_args()
    Proxy((args.host, args.port), args.upstream, args.wcu, args.unprocessed, args.seed).serve_forever()


if __name__ == "__main__":
    main()
