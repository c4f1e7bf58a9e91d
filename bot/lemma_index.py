"""Keeping the lemma index of posts up to date: one batch of queued posts at a time.

Every stored or edited post is queued by a trigger (migration 0014); the scan job calls
index_queued() after matching, so each post is lemmatised once, when it arrives (and again
only if edited). Posts stored before the migration were queued by it and are worked through
the same way, a batch per call, newest first; search finds them by exact forms meanwhile.
Lemmatising runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from bot.queue_drain import Queued, drain
from bot.search_lemmas import lemma_text
from storage.lemma_index import LemmaIndexRepository, LemmaRow

BATCH_SIZE = 500


async def index_queued(
    repo: LemmaIndexRepository,
    batch: int = BATCH_SIZE,
    max_batches: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Index queued posts (all of them, or at most max_batches batches); returns how many.
    progress, if given, is told the running count after each batch."""

    async def index(queued: Queued) -> int:
        rows = await asyncio.to_thread(lemma_rows, queued)
        return await repo.save(rows, [post_id for post_id, text in queued if text is None])

    return await drain(repo.queued, index, batch, max_batches, progress)


def lemma_rows(queued: Sequence[tuple[int, str | None]]) -> list[LemmaRow]:
    """Pure: the lemma texts of the posts still there."""
    rows = []
    for post_id, text in queued:
        if text is not None:
            lemmas = lemma_text(text)
            rows.append(LemmaRow(post_id, text, lemmas.forms, lemmas.lemmas))
    return rows
