"""Keeping the near-duplicate index up to date: one batch of queued posts at a time.

Every stored or edited post is queued by a trigger (migration 0011); the scan job calls
index_queued() after matching, so each post is fingerprinted once, when it arrives (and
again only if edited). Existing posts were queued by the migration and are worked through
the same way, a batch per call. Fingerprints run in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot import neardup
from bot.neardup import Fingerprint
from storage.neardup import IndexedPost, NearDupRepository

BATCH_SIZE = 500


async def index_queued(
    repo: NearDupRepository, batch: int = BATCH_SIZE, max_batches: int | None = None
) -> int:
    """Index queued posts (all of them, or at most max_batches batches); returns how many."""
    total = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        queued = await repo.queued(batch)
        if not queued:
            break
        total += await _index_batch(repo, queued)
        batches += 1
        if len(queued) < batch:
            break
    return total


async def _index_batch(repo: NearDupRepository, queued: Sequence[tuple[int, str | None]]) -> int:
    live = [(post_id, text) for post_id, text in queued if text is not None]
    gone = [post_id for post_id, text in queued if text is None]
    prints = await asyncio.to_thread(neardup.fingerprints, live)
    known = await repo.posts_with_keys([key for p in prints for key in p.keys])
    candidates = _candidates(prints, known)
    others = {o for found in candidates.values() for o in found} - {p.post_id for p in prints}
    texts = await repo.texts(sorted(others))
    pairs = await asyncio.to_thread(_verify, prints, candidates, texts)
    texts_now = dict(live)
    indexed = [
        IndexedPost(p.post_id, texts_now[p.post_id], p.keys, tuple(pairs.get(p.post_id, ())))
        for p in prints
    ]
    return await repo.save(indexed, gone)


def _candidates(prints: Sequence[Fingerprint], known: dict[int, set[int]]) -> dict[int, set[int]]:
    """Per post, the indexed posts and earlier posts of the batch sharing a band key."""
    in_batch: dict[int, set[int]] = {}
    found: dict[int, set[int]] = {}
    for p in prints:
        mine = found.setdefault(p.post_id, set())
        for key in p.keys:
            mine |= known.get(key, set())
            mine |= in_batch.get(key, set())
            in_batch.setdefault(key, set()).add(p.post_id)
        mine.discard(p.post_id)
    return found


def _verify(
    prints: Sequence[Fingerprint], candidates: dict[int, set[int]], texts: dict[int, str]
) -> dict[int, list[tuple[int, float]]]:
    """The exact Jaccard check of every candidate pair."""
    own = {p.post_id: p.shingles for p in prints}
    cache: dict[int, frozenset[str]] = {}
    pairs: dict[int, list[tuple[int, float]]] = {}
    for post_id, others in candidates.items():
        for other in sorted(others):
            if other in own:
                theirs = own[other]
            elif other in texts:
                theirs = cache.setdefault(other, neardup.shingles(texts[other]))
            else:
                continue
            value = neardup.similar(own[post_id], theirs)
            if value is not None:
                pairs.setdefault(post_id, []).append((other, value))
    return pairs
