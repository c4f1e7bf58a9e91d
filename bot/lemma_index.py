"""Keeping the lemma index of posts up to date: one batch of queued posts at a time.

Every stored or edited post is queued by a trigger (migration 0014); the scan job calls
index_queued() after matching, so each post is lemmatised once, when it arrives (and again
only if edited). Posts stored before the migration were queued by it and are worked through
the same way, a batch per call, newest first; search finds them by exact forms meanwhile.
Lemmatising runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

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


async def index_queued_in_processes(
    repo: LemmaIndexRepository,
    pool: Executor,
    workers: int,
    batch: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Index every queued post, lemmatising in worker processes (bot/scan_pool.process_pool):
    twice as many batches as workers in flight, each written here in order as it comes back.
    Texts go to the workers (cheap beside lemmatising them); rows come back."""
    loop = asyncio.get_running_loop()
    in_flight: deque[tuple[Queued, asyncio.Future[list[LemmaRow]]]] = deque()
    below: int | None = None
    total = 0
    try:
        while True:
            while len(in_flight) < 2 * workers:
                read = await repo.queued(batch, below)
                if not read:
                    break
                below = read[-1][0]
                in_flight.append((read, loop.run_in_executor(pool, lemma_rows, read)))
            if not in_flight:
                return total
            done, rows = in_flight[0]
            gone = [post_id for post_id, text in done if text is None]
            total += await repo.save(await rows, gone)
            in_flight.popleft()
            if progress is not None:
                progress(total)
    finally:
        for _, waiting in in_flight:
            waiting.cancel()


def lemma_rows(queued: Sequence[tuple[int, str | None]]) -> list[LemmaRow]:
    """Pure: the lemma texts of the posts still there."""
    rows = []
    for post_id, text in queued:
        if text is not None:
            lemmas = lemma_text(text)
            rows.append(LemmaRow(post_id, text, lemmas.forms, lemmas.lemmas))
    return rows
