"""The derived indexes of stored posts: near-duplicates (propagation) and lemmas (search).

Both are filled from queues that triggers keep (migrations 0011 and 0014), a batch at a time,
and both are separate from the scan (bot/scan.py): flagging framings is what digests and
alerts wait for, and it runs at the pace of matching, while fingerprinting and lemmatising
a post cost several times more. The bot's scan job runs a share of each after its scan;
`framewatch index` runs them to the end (`framewatch scan` then says how many wait).
Until a post is indexed, /search finds it by its exact word forms, and propagation leaves
it out of clusters (bot/commands/propagation.py indexes first).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from bot import lemma_index
from bot.index_backlog import backlog
from bot.neardup_index import index_queued
from bot.scan_pool import process_pool
from storage.backend import Backend
from storage.lemma_index import LemmaIndexRepository
from storage.neardup import NearDupRepository

BATCH_SIZE = 500
# Posts fingerprinted per transaction when indexing runs to the end (the command line): the
# band keys of a batch land on random pages of one large B-tree, so ten times the posts per
# write touch about the same pages (bench/scan.py: about half the time at 100k posts).
BULK_INDEX_BATCH = 5000

# Lemmatising costs about half a millisecond a post: from this many posts on, `framewatch
# index` spreads it over worker processes (each starts in about a second).
MIN_LEMMA_BACKLOG = 10_000
LEMMA_POOL_BATCH = 1000

log = logging.getLogger(__name__)

# (stage, done, total): how far it is, for a command-line progress bar (bot.progress).
Progress = Callable[[str, int, int | None], None]


@dataclass(slots=True)
class IndexReport:
    posts_indexed: int = 0  # posts added to the near-duplicate index (bot/neardup_index.py)
    index_pending: bool = False  # posts still queued for it (max_batches ran out)
    posts_lemmatised: int = 0  # posts added to the lemma index for search (bot/lemma_index.py)
    lemma_pending: bool = False  # posts still queued for it (max_batches ran out)

    @property
    def pending(self) -> bool:
        return self.index_pending or self.lemma_pending


async def run_indexing(
    db: Backend,
    batch: int = BATCH_SIZE,
    *,
    max_batches: int | None = None,
    progress: Progress | None = None,
    workers: int = 1,
) -> IndexReport:
    """Index queued posts for both indexes: all of them, or at most max_batches batches of
    each (the scan job's share per run). workers: processes that may lemmatise a backlog of
    MIN_LEMMA_BACKLOG posts or more when indexing runs to the end; 1: none."""
    report = IndexReport()
    shown = progress or _no_progress
    waiting = await backlog(db) if progress else None
    neardups = NearDupRepository(db)
    report.posts_indexed = await index_queued(
        neardups,
        max(batch, BULK_INDEX_BATCH) if max_batches is None else batch,
        max_batches,
        lambda done: shown("indexing", done, waiting.neardup if waiting else None),
    )
    lemmas = LemmaIndexRepository(db)

    def lemmatised(done: int) -> None:
        shown("lemmatising", done, waiting.lemmas if waiting else None)

    if workers > 1 and max_batches is None:
        report.posts_lemmatised = await _lemmatise_in_processes(lemmas, workers, lemmatised)
    report.posts_lemmatised += await lemma_index.index_queued(
        lemmas, batch, max_batches, lambda done: lemmatised(report.posts_lemmatised + done)
    )
    report.index_pending = await neardups.has_queued()
    report.lemma_pending = await lemmas.has_queued()
    return report


async def _lemmatise_in_processes(
    lemmas: LemmaIndexRepository, workers: int, progress: Callable[[int], None]
) -> int:
    """The lemma backlog in worker processes, if it is large enough to pay for starting them;
    what they leave (a worker died, posts arrived meanwhile) is done in this process."""
    backlog = await lemmas.progress()
    if backlog is None or backlog.queued < MIN_LEMMA_BACKLOG:
        return 0
    pool = process_pool(workers)
    written = [0]  # batches written before a failure count too

    def counted(done: int) -> None:
        written[0] = done
        progress(done)

    try:
        return await lemma_index.index_queued_in_processes(
            lemmas, pool, workers, LEMMA_POOL_BATCH, counted
        )
    except BrokenProcessPool:
        log.warning("lemma worker processes failed; indexing the rest in this process")
        return written[0]
    finally:
        await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None
