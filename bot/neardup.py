"""Near-duplicate posts: word shingles, MinHash signatures and LSH band keys (pure, no I/O).

A copy-pasted post is retyped, trimmed, given another signature line or emoji: its words
mostly stay. Two posts are near-duplicates when the Jaccard similarity of their word
shingles (runs of SHINGLE_WORDS normalised words, bot/rules/normalize.py, the same
normaliser the matcher uses) reaches THRESHOLD.

Finding candidates among a million posts uses MinHash LSH (datasketch): NUM_PERM hash
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

from datasketch import MinHash

from bot.rules.normalize import tokenize

NUM_PERM = 64
# 21 bands of 3 rows (what datasketch's MinHashLSH picks for a threshold of 0.3): a pair is
# a candidate with probability 1-(1-J^3)^21: 0.75 at Jaccard 0.4, 0.94 at 0.5, 0.998 at 0.7.
BANDS, ROWS = 21, 3
THRESHOLD = 0.4  # exact Jaccard of the shingles: tuned on tests/fixtures/neardup_pairs.jsonl
SHINGLE_WORDS = 3
MIN_WORDS = 8
SEED = 1  # fixed: keys stored today must equal keys computed after a restart


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
    return [token.norm for token in tokenize(_LINK.sub(" ", text))]


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[str]:
    """The runs of `size` consecutive normalised words; empty below MIN_WORDS words."""
    normed = words(text)
    if len(normed) < MIN_WORDS:
        return frozenset()
    return frozenset(" ".join(normed[i : i + size]) for i in range(len(normed) - size + 1))


def _hashranges() -> tuple[tuple[int, int], ...]:
    return tuple((band * ROWS, (band + 1) * ROWS) for band in range(BANDS))


def band_keys(shingle_set: Iterable[str]) -> tuple[int, ...]:
    """One signed 64-bit key per LSH band (SQLite INTEGER), the band number mixed in."""
    items = [s.encode("utf-8") for s in shingle_set]
    if not items:
        return ()
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch(items)
    keys = []
    for band, (start, end) in enumerate(_hashranges()):
        digest = hashlib.blake2b(minhash.hashvalues[start:end].tobytes(), digest_size=8)
        digest.update(band.to_bytes(2, "little"))
        keys.append(int.from_bytes(digest.digest(), "little", signed=True))
    return tuple(keys)


def fingerprint(post_id: int, text: str) -> Fingerprint:
    found = shingles(text)
    return Fingerprint(post_id, found, band_keys(found))


def fingerprints(posts: Sequence[tuple[int, str]]) -> list[Fingerprint]:
    return [fingerprint(post_id, text) for post_id, text in posts]


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def similar(a: frozenset[str], b: frozenset[str], threshold: float = THRESHOLD) -> float | None:
    """The Jaccard similarity when it makes a near-duplicate, else None."""
    value = jaccard(a, b)
    return value if value >= threshold else None
