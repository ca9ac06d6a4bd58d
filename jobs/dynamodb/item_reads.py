"""Consistent reads of items from the driver: by key (BatchGetItem) and whole tables (a Scan in
segments, one thread each). Live verification reads DynamoDB through these."""

import queue
import threading
import time
from typing import Any, Dict, Iterator, List, Sequence

from jobs.dynamodb.tables import consistent_pages

GET_KEYS = 100  # BatchGetItem's most keys a call
_END = object()


def get_items(client, table: str, keys: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The items these keys name (wire form); keys with no item are simply absent. Keys
    DynamoDB leaves unprocessed are asked again after a growing pause."""
    found: List[Dict[str, Any]] = []
    for start in range(0, len(keys), GET_KEYS):
        request = {table: {"Keys": list(keys[start : start + GET_KEYS]), "ConsistentRead": True}}
        pause = 0.05
        while request:
            answer = client.batch_get_item(RequestItems=request)
            found += answer["Responses"].get(table, [])
            request = answer.get("UnprocessedKeys") or {}
            if request:
                time.sleep(pause)
                pause = min(pause * 2, 2.0)
    return found


def scan_items(client, table: str, segments: int) -> Iterator[Dict[str, Any]]:
    """Every item of a table (wire form), read consistently by `segments` threads at once."""
    pages: "queue.Queue[Any]" = queue.Queue(maxsize=segments * 4)
    failures: List[BaseException] = []

    def read(segment: int) -> None:
        try:
            request = {"TableName": table, "Segment": segment, "TotalSegments": segments}
            batch: List[Dict[str, Any]] = []
            for item in consistent_pages(client, "scan", request):
                batch.append(item)
                if len(batch) >= 1000:
                    pages.put(batch)
                    batch = []
            pages.put(batch)
        except BaseException as e:  # noqa: BLE001 - raised in the reading thread below
            failures.append(e)
        finally:
            pages.put(_END)

    threads = [threading.Thread(target=read, args=(s,), daemon=True) for s in range(segments)]
    for thread in threads:
        thread.start()
    ended = 0
    while ended < segments:
        page = pages.get()
        if page is _END:
            ended += 1
            continue
        yield from page
    if failures:
        raise failures[0]
