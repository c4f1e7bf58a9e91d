"""Near-duplicate posts: word shingles, MinHash signatures and LSH band keys (pure, no I/O).

A copy-pasted post is retyped, trimmed, given another signature line or emoji: its words
mostly stay. Two posts are near-duplicates when the Jaccard similarity of their word
shingles (runs of SHINGLE_WORDS normalised words, bot/rules/normalize.py, the same
normaliser the matcher uses) reaches THRESHOLD.

Finding candidates among a million posts uses MinHash LSH (datasketch's scheme, computed
for a whole batch at once): NUM_PERM hash functions, cut into bands of rows; two posts
sharing one band's values are candidates.
Each band becomes one 64-bit key that storage indexes (storage/neardup.py), so a lookup is
a few indexed reads and the index survives restarts without pickling an LSH object. The
bands (BANDS x ROWS) are tuned so that few true pairs are missed; every candidate is then
checked with the exact Jaccard of the shingles.
Posts of fewer than MIN_WORDS words ("Срочно!", a caption) never form clusters.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy
import numpy.typing as npt

from bot.rules.normalize import normalize_word, word_pattern

NUM_PERM = 64
# 21 bands of 3 rows (what datasketch's MinHashLSH picks for a threshold of 0.3): a pair is
# a candidate with probability 1-(1-J^3)^21: 0.75 at Jaccard 0.4, 0.94 at 0.5, 0.998 at 0.7.
BANDS, ROWS = 21, 3
THRESHOLD = 0.4  # exact Jaccard of the shingles: tuned on tests/fixtures/neardup_pairs.jsonl
SHINGLE_WORDS = 3
MIN_WORDS = 8
SEED = 1  # fixed: keys stored today must equal keys computed after a restart

# The signature is datasketch's MinHash scheme "affine32" (NUM_PERM permutations
# h -> a*h + b wrapping in uint32 after MurmurHash3's finalizer, numpy's RandomState(SEED)
# drawing a and b), computed on a whole batch in a few numpy steps. A shingle's 32-bit hash
# is built from its words' hashes (shingle_hash), each word hashed once and cached: hashing
# every shingle with SHA-1 in Python was most of a fingerprint's cost. Stored keys depend on
# all of this: changing it needs a migration that re-queues every post (as 0013 did).
# tests/test_neardup.py checks the batch against datasketch's MinHash with shingle_hash.
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)  # MurmurHash3's 32-bit finalizer
_FMIX64 = (33, 0xFF51AFD7ED558CCD, 33, 0xC4CEB9FE1A85EC53, 33)  # and its 64-bit one
# Odd, one per word position of a shingle (SHINGLE_WORDS of them).
_WORD_WEIGHTS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)
_MASK64 = (1 << 64) - 1
_ROWS_PER_STEP = 32_768  # shingles per vectorised step: 32k x 64 x 4 B = 8 MB at a time

Hashes = npt.NDArray[numpy.uint32]
Wide = npt.NDArray[numpy.uint64]


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the index keeps of one post: its shingles (for the exact check) and band keys."""

    post_id: int
    shingles: frozenset[str]
    keys: tuple[int, ...]  # empty: too short to be indexed


# Links are not wording: channels append their own ("Подписаться" + invite link) to copies,
# and a link's path would otherwise add a dozen random "words".
_LINK = re.compile(r"(?:https?://|\bt\.me/)\S+", re.IGNORECASE)


def words(text: str) -> list[str]:
    """The normalised words of text: bot.rules.normalize.tokenize's norms, without building
    a Token (with its span) per word, which cost half of a fingerprint."""
    found = word_pattern().findall(_LINK.sub(" ", text))
    return [norm for norm in map(normalize_word, found) if norm]


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[str]:
    """The runs of `size` consecutive normalised words; empty below MIN_WORDS words."""
    return _shingles_of(words(text), size)


def _shingles_of(normed: list[str], size: int = SHINGLE_WORDS) -> frozenset[str]:
    if len(normed) < MIN_WORDS:
        return frozenset()
    # zip stops at the shortest tail: exactly the len(normed) - size + 1 runs.
    return frozenset(map(" ".join, zip(*(normed[i:] for i in range(size)), strict=False)))


@cache
def _permutations() -> tuple[Hashes, Hashes]:
    # numpy's legacy RandomState: its stream for a seed is frozen (numpy's stability policy).
    gen = numpy.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=numpy.uint32) * numpy.uint32(2) + numpy.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=numpy.uint32)
    return a, b


def _fmix(values: Hashes | Wide, constants: tuple[int, ...]) -> Hashes | Wide:
    kind = values.dtype.type
    s1, m1, s2, m2, s3 = (kind(c) for c in constants)
    values = values ^ (values >> s1)
    values = values * m1
    values = values ^ (values >> s2)
    values = values * m2
    return values ^ (values >> s3)


@lru_cache(maxsize=1 << 17)
def _word_hash(word: str) -> int:
    # An unkeyed, process-independent 64-bit hash (Python's hash() is salted per process
    # and must never make a stored key). Cached: posts repeat their words.
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def shingle_hash(shingle: str) -> int:
    """The 32-bit hash of one shingle, as the batch computes it: the high half of
    fmix64(sum of word hash x position weight). Reference for tests; the index uses
    _shingle_hashes."""
    mixed = sum(_word_hash(w) * k for w, k in zip(shingle.split(" "), _WORD_WEIGHTS, strict=True))
    value = numpy.array([mixed & _MASK64], dtype=numpy.uint64)
    return int(_fmix(value, _FMIX64)[0] >> numpy.uint64(32))


def _shingle_hashes(word_lists: Sequence[list[str]]) -> tuple[Hashes, Wide]:
    """Every shingle's hash (with repeats, which do not change a minimum), post after post,
    and where each post's shingles start."""
    lengths = numpy.array([len(ws) for ws in word_lists], dtype=numpy.int64)
    total = int(lengths.sum())
    flat = numpy.fromiter(
        (_word_hash(w) for ws in word_lists for w in ws), dtype=numpy.uint64, count=total
    )
    span = total - SHINGLE_WORDS + 1
    mixed = numpy.zeros(span, dtype=numpy.uint64)
    for position, weight in enumerate(_WORD_WEIGHTS[:SHINGLE_WORDS]):
        mixed += flat[position : position + span] * numpy.uint64(weight)
    # Runs that cross from one post into the next are dropped: each post's last size-1.
    keep = numpy.ones(span, dtype=bool)
    ends = numpy.cumsum(lengths)
    for back in range(1, SHINGLE_WORDS):
        cut = ends - SHINGLE_WORDS + back
        keep[cut[cut < span]] = False
    hashes = (_fmix(mixed[keep], _FMIX64) >> numpy.uint64(32)).astype(numpy.uint32)
    counts = lengths - SHINGLE_WORDS + 1
    return hashes, (numpy.cumsum(counts) - counts).astype(numpy.uint64)


def signatures(word_lists: Sequence[list[str]]) -> Hashes:
    """The MinHash signature of each post's words (each at least MIN_WORDS), one row each:
    all posts in a few numpy steps instead of one MinHash object per post."""
    if not word_lists:
        return numpy.empty((0, NUM_PERM), dtype=numpy.uint32)
    shingled, first_of = _shingle_hashes(word_lists)
    hashes = _fmix(shingled, _FMIX32)
    starts = first_of.astype(numpy.int64)
    ends = numpy.append(starts[1:], hashes.size)
    a, b = _permutations()
    result = numpy.empty((len(word_lists), NUM_PERM), dtype=numpy.uint32)
    first = 0
    while first < len(word_lists):
        last = first + 1  # whole posts per step, at least one
        while last < len(word_lists) and ends[last] - starts[first] <= _ROWS_PER_STEP:
            last += 1
        low, high = starts[first], ends[last - 1]
        permuted = hashes[low:high, None] * a + b
        result[first:last] = numpy.minimum.reduceat(permuted, starts[first:last] - low, axis=0)
        first = last
    return result


def _band_keys(rows: Hashes) -> npt.NDArray[numpy.int64]:
    """One signed 64-bit key per LSH band and post (SQLite INTEGER), for all rows at once:
    the band's values folded into a 64-bit state seeded by the band number, each through
    the 64-bit finalizer (a bijection), so different bands or values give unrelated keys."""
    bands = rows[:, : BANDS * ROWS].reshape(len(rows), BANDS, ROWS).astype(numpy.uint64)
    numbers = numpy.arange(1, BANDS + 1, dtype=numpy.uint64) * numpy.uint64(_WORD_WEIGHTS[0])
    state = _fmix(numpy.broadcast_to(numbers, (len(rows), BANDS)), _FMIX64)
    for row in range(ROWS):
        state = _fmix(state ^ bands[:, :, row], _FMIX64)
    return state.view(numpy.int64)


def band_keys(text: str) -> tuple[int, ...]:
    return fingerprint(0, text).keys


def fingerprint(post_id: int, text: str) -> Fingerprint:
    return fingerprints([(post_id, text)])[0]


def fingerprints(posts: Sequence[tuple[int, str]]) -> list[Fingerprint]:
    """The fingerprints of a batch of posts; the MinHash of all of them at once."""
    normed = [words(text) for _, text in posts]
    indexed = [i for i, ws in enumerate(normed) if len(ws) >= MIN_WORDS]
    keys: list[tuple[int, ...]] = [()] * len(posts)
    found = _band_keys(signatures([normed[i] for i in indexed])).tolist()
    for row, i in enumerate(indexed):
        keys[i] = tuple(found[row])
    return [
        Fingerprint(post_id, _shingles_of(normed[i]), keys[i])
        for i, (post_id, _) in enumerate(posts)
    ]


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def similar(a: frozenset[str], b: frozenset[str], threshold: float = THRESHOLD) -> float | None:
    """The Jaccard similarity when it makes a near-duplicate, else None."""
    value = jaccard(a, b)
    return value if value >= threshold else None
