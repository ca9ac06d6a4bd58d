"""Comparing a table with its DynamoDB items in memory that does not grow with the table.

Every key falls in one of `buckets` hash buckets. A side's summary holds, per bucket, the number
of items and the sum of their item digests (mod 2**64): order-independent, so a summary can be
built in any order, in pieces, and merged. Equal summaries say both sides hold the same items
(up to a 64-bit digest collision); a bucket whose summaries differ is compared key by key in a
second read that keeps only that bucket's keys, a few buckets at a time (`bucket_chunks`).

Keyless tables (items named by the row's content digest, '<digest>' or '<digest>#<n>'): every
copy of a row falls in the bucket of its content digest, so the copies are compared together.
"""

import hashlib
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from mapping.items import CHECKSUM_MODULUS
from mapping.keys import SEPARATOR
from mapping.live_verify import problem

ROWS_PER_BUCKET = 1000
MAX_BUCKETS = 1 << 16
KEYS_PER_READ = 200_000  # keys the second read may hold at once (both sides' of the buckets read)


def bucket_count(rows: int) -> int:
    """A power of two near rows / ROWS_PER_BUCKET, between 1 and MAX_BUCKETS."""
    wanted = max(1, rows // ROWS_PER_BUCKET)
    return min(MAX_BUCKETS, 1 << (wanted - 1).bit_length())


def bucket_of(key: str, buckets: int, keyless: bool = False) -> int:
    """The bucket of an item key (key_text's JSON). Keyless: of its content digest alone."""
    if keyless:  # '["<digest>"]' and '["<digest>#2"]' alike: the digest
        key = key.split(SEPARATOR, 1)[0].rstrip('"]')
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % buckets


class Summary:
    """Per bucket: how many items, and the sum of their digests."""

    def __init__(self, buckets: int, keyless: bool = False):
        self.buckets, self.keyless = buckets, keyless
        self.counts: List[int] = [0] * buckets
        self.sums: List[int] = [0] * buckets

    def add(self, key: str, digest: int) -> None:
        bucket = bucket_of(key, self.buckets, self.keyless)
        self.counts[bucket] += 1
        self.sums[bucket] = (self.sums[bucket] + digest) % CHECKSUM_MODULUS

    def merge(self, other: "Summary") -> "Summary":
        for bucket in range(self.buckets):
            self.counts[bucket] += other.counts[bucket]
            self.sums[bucket] = (self.sums[bucket] + other.sums[bucket]) % CHECKSUM_MODULUS
        return self

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def checksum(self) -> int:
        return sum(self.sums) % CHECKSUM_MODULUS


class UpTo:
    """The pairs both summaries saw, held while both sides together are at most KEYS_PER_READ: a
    table that small is then compared key by key without a second read; a bigger one drops them."""

    def __init__(self) -> None:
        self.source: Dict[str, int] = {}
        self.target: Dict[str, int] = {}
        self.dropped = False

    def source_pair(self, key: str, digest: int) -> None:
        self._hold(self.source, key, digest)

    def target_pair(self, key: str, digest: int) -> None:
        self._hold(self.target, key, digest)

    def _hold(self, side: Dict[str, int], key: str, digest: int) -> None:
        if self.dropped:
            return
        side[key] = digest
        if len(self.source) + len(self.target) > KEYS_PER_READ:
            self.source, self.target, self.dropped = {}, {}, True


def summarize(
    pairs: Iterable[Tuple[str, int]],
    buckets: int,
    keyless: bool = False,
    seen: Optional[Callable[[str, int], None]] = None,
) -> Summary:
    summary = Summary(buckets, keyless)
    for key, digest in pairs:
        summary.add(key, digest)
        if seen is not None:
            seen(key, digest)
    return summary


def differing_buckets(source: Summary, target: Summary) -> List[int]:
    return [
        b for b in range(source.buckets) if source.counts[b] != target.counts[b] or source.sums[b] != target.sums[b]
    ]


def bucket_chunks(buckets: Sequence[int], source: Summary, target: Summary) -> List[Set[int]]:
    """Differing buckets grouped so that one second read holds at most KEYS_PER_READ keys
    (a bucket bigger than that is read on its own)."""
    chunks: List[Set[int]] = []
    current: Set[int] = set()
    held = 0
    for bucket in buckets:
        size = source.counts[bucket] + target.counts[bucket]
        if current and held + size > KEYS_PER_READ:
            chunks.append(current)
            current, held = set(), 0
        current.add(bucket)
        held += size
    if current:
        chunks.append(current)
    return chunks


def key_problems(source: Mapping[str, int], target: Mapping[str, int]) -> Dict[str, str]:
    """Key by key: what is wrong with each key either side holds (equal keys left out)."""
    found: Dict[str, str] = {}
    for key in set(source) | set(target):
        difference = problem(source.get(key), target.get(key))
        if difference:
            found[key] = difference
    return found


def in_buckets(key: str, chosen: Set[int], buckets: int, keyless: bool = False) -> bool:
    return bucket_of(key, buckets, keyless) in chosen
