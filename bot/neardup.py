"""Near-duplicate posts: word shingles, MinHash signatures and LSH band keys (pure, no I/O).

A copy-pasted post is retyped, trimmed, given another signature line or emoji: its words
mostly stay. Two posts are near-duplicates when the Jaccard similarity of their word
shingles (runs of SHINGLE_WORDS normalised words, bot/rules/normalize.py, the same
normaliser the matcher uses) reaches THRESHOLD.

Finding candidates among a million posts uses MinHash LSH (datasketch's scheme, batched): NUM_PERM hash
functions, cut into bands of rows; two posts sharing one band's values are candidates.
Each band becomes one 64-bit key that storage indexes (storage/neardup.py), so a lookup is
a few indexed reads and the index survives restarts without pickling an LSH object. The
bands (BANDS x ROWS) are tuned so that few true pairs are missed; every candidate is then
checked with the exact Jaccard of the shingles.
Posts of fewer than MIN_WORDS words ("Срочно!", a caption) never form clusters.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

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

# The signature is datasketch's MinHash(num_perm=NUM_PERM, seed=SEED) of its default scheme
# since 2.0 ("affine32"): h = fmix32(sha1_32(shingle)), then min over shingles of a*h + b
# wrapping in uint32. Computed here on a whole batch in a few numpy steps (one MinHash object
# per post built its own permutation table and hashed in a Python loop); written out so the
# stored keys no longer depend on which datasketch is installed. tests/test_neardup.py checks
# it against datasketch itself.
_FMIX = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)  # MurmurHash3's 32-bit finalizer
_ROWS_PER_STEP = 32_768  # shingles per vectorised step: 32k x 64 x 4 B = 8 MB at a time

Hashes = npt.NDArray[numpy.uint32]


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
    normed = words(text)
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


def _fmix32(values: Hashes) -> Hashes:
    s1, m1, s2, m2, s3 = (numpy.uint32(c) for c in _FMIX)
    values = values ^ (values >> s1)
    values = values * m1
    values = values ^ (values >> s2)
    values = values * m2
    return values ^ (values >> s3)


def _shingle_hashes(shingle_sets: Sequence[frozenset[str]]) -> Hashes:
    # datasketch's default sha1_hash32: the first 4 bytes of SHA-1, little-endian. Stable
    # across processes (Python's hash() is salted per process and must not make keys).
    # Joined into one buffer: no Python int per shingle.
    sha1 = hashlib.sha1
    digests = b"".join([sha1(s.encode("utf-8")).digest()[:4] for g in shingle_sets for s in g])
    return numpy.frombuffer(digests, dtype="<u4").astype(numpy.uint32)


def signatures(shingle_sets: Sequence[frozenset[str]]) -> Hashes:
    """The MinHash signature of each non-empty set, one row each: all sets in a few numpy
    steps instead of one MinHash object (and one permutation table) per post."""
    lengths = numpy.array([len(s) for s in shingle_sets], dtype=numpy.int64)
    hashes = _fmix32(_shingle_hashes(shingle_sets))
    a, b = _permutations()
    starts = numpy.concatenate(([0], numpy.cumsum(lengths)[:-1]))
    result = numpy.empty((len(shingle_sets), NUM_PERM), dtype=numpy.uint32)
    first = 0
    while first < len(shingle_sets):
        last = first + 1  # whole posts per step, at least one
        while last < len(shingle_sets) and starts[last] - starts[first] < _ROWS_PER_STEP:
            last += 1
        low = starts[first]
        high = starts[last - 1] + lengths[last - 1]
        permuted = hashes[low:high, None] * a + b
        result[first:last] = numpy.minimum.reduceat(permuted, starts[first:last] - low, axis=0)
        first = last
    return result


def _keys_of(signature: Hashes) -> tuple[int, ...]:
    """One signed 64-bit key per LSH band (SQLite INTEGER), the band number mixed in."""
    keys = []
    for band in range(BANDS):
        digest = hashlib.blake2b(
            signature[band * ROWS : (band + 1) * ROWS].tobytes(), digest_size=8
        )
        digest.update(band.to_bytes(2, "little"))
        keys.append(int.from_bytes(digest.digest(), "little", signed=True))
    return tuple(keys)


def band_keys(shingle_set: Iterable[str]) -> tuple[int, ...]:
    found = frozenset(shingle_set)
    return _keys_of(signatures([found])[0]) if found else ()


def fingerprint(post_id: int, text: str) -> Fingerprint:
    return fingerprints([(post_id, text)])[0]


def fingerprints(posts: Sequence[tuple[int, str]]) -> list[Fingerprint]:
    """The fingerprints of a batch of posts; the MinHash of all of them at once."""
    found = [shingles(text) for _, text in posts]
    indexed = [i for i, s in enumerate(found) if s]
    keys: list[tuple[int, ...]] = [()] * len(posts)
    if indexed:
        rows = signatures([found[i] for i in indexed])
        for row, i in enumerate(indexed):
            keys[i] = _keys_of(rows[row])
    return [Fingerprint(post_id, found[i], keys[i]) for i, (post_id, _) in enumerate(posts)]


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def similar(a: frozenset[str], b: frozenset[str], threshold: float = THRESHOLD) -> float | None:
    """The Jaccard similarity when it makes a near-duplicate, else None."""
    value = jaccard(a, b)
    return value if value >= threshold else None
