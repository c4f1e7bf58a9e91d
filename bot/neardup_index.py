"""Keeping the near-duplicate index up to date: one batch of queued posts at a time.

Every stored or edited post is queued by a trigger (migration 0011); the scan job calls
index_queued() after matching, so each post is fingerprinted once, when it arrives (and
again only if edited). Existing posts were queued by the migration and are worked through
the same way, a batch per call. Fingerprints run in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from bot import neardup
from bot.neardup import Fingerprint
from bot.queue_drain import drain
from storage.neardup import IndexedPost, NearDupRepository

BATCH_SIZE = 500
# Verified pairs kept per post with earlier posts, and candidates tried to find them (see
# _verify): enough for every cluster, few enough that a text copied thousands of times costs
# no more to index than a text copied a few times.
NEIGHBOURS = 8
CHECKS = 4 * NEIGHBOURS


async def index_queued(
    repo: NearDupRepository,
    batch: int = BATCH_SIZE,
    max_batches: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Index queued posts (all of them, or at most max_batches batches); returns how many.
    progress, if given, is told the running count after each batch."""
    return await drain(
        repo.queued, lambda queued: _index_batch(repo, queued), batch, max_batches, progress
    )


async def _index_batch(repo: NearDupRepository, queued: Sequence[tuple[int, str | None]]) -> int:
    live = [(post_id, text) for post_id, text in queued if text is not None]
    gone = [post_id for post_id, text in queued if text is None]
    prints = await asyncio.to_thread(neardup.fingerprints, live)
    keys = [key for p in prints for key in p.keys]
    known = await repo.posts_with_keys(keys, newest=NEIGHBOURS)
    candidates = _candidates(prints, known)
    others = {o for found in candidates.values() for o in found} - {p.post_id for p in prints}
    texts = await repo.texts(sorted(others))
    texts_now = dict(live)
    pairs = await asyncio.to_thread(_verify, prints, candidates, texts, texts_now)
    indexed = [
        IndexedPost(p.post_id, texts_now[p.post_id], p.keys, tuple(pairs.get(p.post_id, ())))
        for p in prints
    ]
    return await repo.save(indexed, gone)


def _candidates(prints: Sequence[Fingerprint], known: dict[int, list[int]]) -> dict[int, list[int]]:
    """Per post, the indexed posts and earlier posts of the batch sharing a band key: the
    NEIGHBOURS newest of each key, newest first."""
    in_batch: dict[int, list[int]] = {}  # key -> posts of this batch having it, oldest first
    found: dict[int, list[int]] = {}
    for p in prints:
        mine: set[int] = set()
        for key in p.keys:
            mine.update(in_batch.get(key, ())[-NEIGHBOURS:])
            mine.update(known.get(key, ()))
            in_batch.setdefault(key, []).append(p.post_id)
        mine.discard(p.post_id)
        found[p.post_id] = sorted(mine, reverse=True)
    return found


def _verify(
    prints: Sequence[Fingerprint],
    candidates: dict[int, list[int]],
    texts: dict[int, str],
    own_texts: dict[int, str],
) -> dict[int, list[tuple[int, float]]]:
    """The exact Jaccard check of candidate pairs, newest candidate first, until a post has
    NEIGHBOURS verified pairs (or CHECKS candidates were tried).

    Propagation joins posts into clusters through any chain of pairs, so a copy linked to
    the few newest earlier copies of its text lands in the same cluster as linking it to
    all of them would, at a cost that does not grow with the number of copies. A text's
    shingles are computed once per batch, however many posts carry it.
    """
    own = {p.post_id: p.shingles for p in prints}
    by_text: dict[str, frozenset[str]] = {}
    pairs: dict[int, list[tuple[int, float]]] = {}
    for post_id, others in candidates.items():
        mine, text = own[post_id], own_texts[post_id]
        found: list[tuple[int, float]] = []
        for other in others[:CHECKS]:
            other_text = own_texts.get(other) if other in own else texts.get(other)
            if other_text is None:
                continue
            if other_text == text:
                value: float | None = 1.0 if mine else None
            else:
                theirs = own[other] if other in own else by_text.get(other_text)
                if theirs is None:
                    theirs = by_text[other_text] = neardup.shingles(other_text)
                value = neardup.similar(mine, theirs)
            if value is not None:
                found.append((other, value))
                if len(found) == NEIGHBOURS:
                    break
        if found:
            pairs[post_id] = found
    return pairs
