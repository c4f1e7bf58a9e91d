"""Matching a large backlog in worker processes, on every core (and the pool the lemma
index uses the same way, bot/lemma_index.py).

A bulk scan (an imported archive, a bot that was down for a week) is bound by matching,
which is Python and holds the GIL: threads cannot spread it, processes can. Each worker
compiles the same rules once, opens the database read-only and reads its batches' texts
itself, by id range: only ids, generations and matches cross between the processes
(pickling the texts cost a third as much as matching them). The scan (bot/scan.py) hands
out the ranges in id order and writes each batch's matches in that order, one transaction
a batch, on its own database connection; the workers read committed data (WAL) meanwhile.

Workers are started with "spawn": a forked copy of a process with threads (aiosqlite's,
the bot's) can inherit a lock held by a thread that does not exist in the child.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from bot.matching import match_posts
from bot.rules import Matcher, TermRule, compile_matcher
from storage.db import open_reader
from storage.matches import read_queued_between
from storage.models import MatchRow, ScanMark

# Below this many posts waiting, starting processes (each imports the bot and compiles the
# rules, about a second) costs more than it saves; the scan matches in a thread then.
MIN_BACKLOG = 20_000
MAX_WORKERS = 32

Batch = tuple[list[ScanMark], list[MatchRow]]


def worker_count(setting: int) -> int:
    """FRAMEWATCH_SCAN_WORKERS: 0 means one per core (of those this process may use)."""
    if setting > 0:
        return min(setting, MAX_WORKERS)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, MAX_WORKERS))


def process_pool(
    workers: int, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()
) -> Executor:
    """Worker processes started with "spawn" (see above); each runs initializer first."""
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=initializer,
        initargs=initargs,
    )


class MatchPool:
    """Worker processes matching posts against one version of the rules."""

    def __init__(self, db_path: str, rules: tuple[TermRule, ...], version: int, workers: int):
        self.version = version
        self.workers = workers
        self._pool = process_pool(workers, _start_worker, (db_path, rules))

    async def match_between(self, first: int, last: int) -> Batch:
        """The posts waiting for a scan with ids in [first, last], and their matches."""
        marks, rows = await asyncio.get_running_loop().run_in_executor(
            self._pool, _match_between, first, last
        )
        return list(map(ScanMark._make, marks)), list(map(MatchRow._make, rows))

    def close(self) -> None:
        """Stop the workers; batches not yet taken are dropped (their posts stay queued)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


# Each worker process's own matcher and connection, set once by _start_worker.
_worker: tuple[Matcher, sqlite3.Connection] | None = None


def _start_worker(db_path: str, rules: tuple[TermRule, ...]) -> None:
    global _worker
    _worker = (compile_matcher(rules), open_reader(db_path))


def _match_between(
    first: int, last: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int, int, int, int]]]:
    # Plain tuples back to the scan: cheaper to pickle than named tuples or dataclasses.
    assert _worker is not None, "the pool's initializer sets it"
    matcher, conn = _worker
    posts = read_queued_between(conn, first, last)
    found = match_posts(matcher, posts)
    marks = [(p.post_id, p.generation) for p in posts]
    return marks, [(m.post_id, m.term_id, m.framing_id, m.start, m.end) for m in found]
