"""The bucket summaries: order-independent, mergeable, and pointing at the buckets that differ."""

import random

from mapping import comparison
from mapping.comparison import (
    Summary,
    bucket_chunks,
    bucket_count,
    bucket_of,
    differing_buckets,
    key_problems,
    summarize,
)
from mapping.live_verify import DIFFERENT, EXTRA, MISSING

PAIRS = [(f'["{n}"]', random.Random(n).getrandbits(64)) for n in range(5000)]


def test_bucket_count_grows_with_the_table_within_bounds():
    assert [bucket_count(n) for n in (0, 999, 1000, 1001, 5000, 2_000_000)] == [1, 1, 1, 1, 8, 2048]
    assert bucket_count(10**12) == comparison.MAX_BUCKETS


def test_a_summary_is_the_same_in_any_order_and_in_merged_pieces():
    whole = summarize(PAIRS, 8)
    shuffled = list(PAIRS)
    random.Random(1).shuffle(shuffled)
    pieces = [summarize(shuffled[i::3], 8) for i in range(3)]
    merged = pieces[0].merge(pieces[1]).merge(pieces[2])
    assert (merged.counts, merged.sums) == (whole.counts, whole.sums) == (summarize(shuffled, 8).counts, whole.sums)
    assert whole.total == len(PAIRS)


def test_only_the_buckets_of_changed_keys_differ():
    changed = list(PAIRS)
    changed[10] = (changed[10][0], changed[10][1] ^ 1)  # an attribute differs
    del changed[20]  # missing in DynamoDB
    changed.append(('["extra"]', 7))  # not in the source
    expected = sorted({bucket_of(k, 64) for k in ('["10"]', '["20"]', '["extra"]')})
    assert differing_buckets(summarize(PAIRS, 64), summarize(changed, 64)) == expected
    assert differing_buckets(summarize(PAIRS, 64), summarize(list(reversed(PAIRS)), 64)) == []


def test_copies_of_a_keyless_row_share_their_content_digest_bucket():
    digest = "ab" * 32
    keys = [f'["{digest}"]', f'["{digest}#2"]', f'["{digest}#3"]']
    assert len({bucket_of(k, 1024, keyless=True) for k in keys}) == 1


def test_key_problems_name_each_kind():
    assert key_problems({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 5, "d": 4}) == {
        "b": DIFFERENT,
        "c": MISSING,
        "d": EXTRA,
    }


def test_chunks_hold_at_most_the_keys_one_read_may_hold(monkeypatch):
    monkeypatch.setattr(comparison, "KEYS_PER_READ", 100)
    source, target = Summary(6), Summary(6)
    source.counts = [30, 30, 30, 250, 10, 0]
    target.counts = [30, 30, 0, 250, 10, 1]
    chunks = bucket_chunks([0, 1, 2, 3, 4, 5], source, target)
    assert chunks == [{0}, {1, 2}, {3}, {4, 5}]
    assert sorted(b for chunk in chunks for b in chunk) == [0, 1, 2, 3, 4, 5]
