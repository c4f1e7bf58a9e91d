"""The scan: match stored posts against the framings' terms and store what was found.

Two passes, in batches whose matching runs in a worker thread, so the bot keeps answering:
1. posts stored or edited since the last scan are matched against every term;
2. the background rescan: terms added since are applied to the posts stored before them,
   one batch at a time from a cursor saved with each batch, so a restart continues where
   it stopped. /framings shows its progress.
The indexes for search and propagation are kept apart (bot/indexing.py).
The matcher is compiled once per rules version (RulesCache) and reused until the rules change.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.matching import match_posts
from bot.rules import RuleMatcher, TermRule, compile_matcher
from bot.scan_pool import MIN_BACKLOG, Batch, MatchPool
from storage.framings import FramingRepository
from storage.matches import MatchRepository, RescanProgress
from storage.models import MatchRow

log = logging.getLogger(__name__)

BATCH_SIZE = 500
POOL_BATCH = 2000  # posts per batch in worker processes: fewer, larger transactions

# (stage, done, total): how far a long scan is, for a command-line progress bar.
Progress = Callable[[str, int, int | None], None]


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


@dataclass(frozen=True, slots=True)
class CompiledRules:
    version: int
    rules: tuple[TermRule, ...]
    matcher: RuleMatcher  # /explain uses it too (handlers/explain.py): never compiled twice


class RulesCache:
    """The matcher of the current rules version, compiled once and reused until it changes.

    Compiling thousands of terms takes seconds: it runs in a worker thread, and one
    compilation at a time (callers arriving meanwhile wait for it, then share it).
    """

    def __init__(self) -> None:
        self._compiled: CompiledRules | None = None
        self._lock = asyncio.Lock()
        self.compilations = 0
        self._subset: tuple[int, frozenset[int], RuleMatcher] | None = None

    async def subset(self, compiled: CompiledRules, term_ids: frozenset[int]) -> RuleMatcher:
        """A matcher of only these terms of `compiled` (the terms a rescan applies), compiled
        once per rules version and set of terms: a post scanned against one new term costs
        the words of the post, not every term's hits."""
        kept = self._subset
        if kept is not None and kept[0] == compiled.version and kept[1] == term_ids:
            return kept[2]
        if term_ids >= {rule.term_id for rule in compiled.rules}:
            return compiled.matcher
        rules = tuple(rule for rule in compiled.rules if rule.term_id in term_ids)
        matcher = await asyncio.to_thread(compile_matcher, rules)
        self._subset = (compiled.version, term_ids, matcher)
        return matcher

    async def current(self, framings: FramingRepository) -> CompiledRules:
        compiled = self._compiled
        if compiled is not None and compiled.version == await framings.rules_version():
            return compiled
        async with self._lock:
            version, rules = await read_rules(framings)
            if self._compiled is None or self._compiled.version != version:
                matcher = await asyncio.to_thread(compile_matcher, rules)
                self._compiled = CompiledRules(version, rules, matcher)
                self.compilations += 1
            return self._compiled


async def read_rules(framings: FramingRepository) -> tuple[int, tuple[TermRule, ...]]:
    """The rules version and every term, as the matcher of that version compiles them.

    The version is read before the terms: if the rules change in between, the terms are
    newer than the version says, and the next reader compiles again."""
    version = await framings.rules_version()
    terms = await framings.all_terms()
    return version, tuple(TermRule(t.term_id, t.framing_id, t.text) for t in terms)


@dataclass(slots=True)
class ScanReport:
    posts_scanned: int = 0  # new or edited posts matched against every term
    terms_backfilled: int = 0  # new terms whose rescan over the stored posts finished
    posts_rescanned: int = 0
    rescan_pending: bool = False  # a rescan is still unfinished (max_rescan_batches ran out)
    new_matches: list[MatchRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RescanStep:
    posts: int
    terms_finished: int
    new_matches: list[MatchRow]


async def run_scan(
    framings: FramingRepository,
    matches: MatchRepository,
    clock: Clock,
    batch: int = BATCH_SIZE,
    *,
    rules: RulesCache | None = None,
    max_rescan_batches: int | None = None,
    progress: Progress | None = None,
    workers: int = 1,
) -> ScanReport:
    """New and edited posts first (they are what digests wait for), then rescan batches:
    all of them, or at most max_rescan_batches (the scan job's share per run).
    workers: processes that may match a large backlog (bot/scan_pool.py); 1: none."""
    rules = rules or RulesCache()
    report = ScanReport()
    shown = progress or _no_progress
    if workers > 1:
        await _scan_backlog_in_processes(framings, matches, rules, clock, workers, report, progress)
    await scan_new_posts(framings, matches, rules, clock, batch, report, progress)
    steps = 0
    to_rescan = await _rescan_total(matches) if progress else None
    while max_rescan_batches is None or steps < max_rescan_batches:
        step = await rescan_batch(framings, matches, rules, clock, batch)
        if step is None:
            break
        steps += 1
        report.posts_rescanned += step.posts
        shown("rescanning", report.posts_rescanned, to_rescan)
        report.terms_backfilled += step.terms_finished
        report.new_matches += step.new_matches
    report.rescan_pending = bool(await matches.pending_terms())
    return report


async def scan_new_posts(
    framings: FramingRepository,
    matches: MatchRepository,
    rules: RulesCache,
    clock: Clock,
    batch: int,
    report: ScanReport,
    progress: Progress | None = None,
) -> None:
    """One pass over the posts waiting for a scan, in id order. A batch is matched (in a
    worker thread) while the previous one is written (on the database thread): the two use
    different cores. A post edited meanwhile stays marked; the next scan takes it."""
    writing: asyncio.Task[list[MatchRow]] | None = None
    total = await matches.scan_backlog() if progress else None
    try:
        posts = await matches.posts_needing_scan(batch)
        while posts:
            compiled = await rules.current(framings)
            found = await asyncio.to_thread(match_posts, compiled.matcher, posts)
            if writing is not None:
                written, writing = writing, None
                report.new_matches += await written
            following = (
                await matches.posts_needing_scan(batch, posts[-1].post_id)
                if len(posts) == batch
                else []
            )
            writing = asyncio.create_task(
                matches.replace_for_posts(posts, found, clock(), compiled.version)
            )
            report.posts_scanned += len(posts)
            if progress is not None:
                progress("scanning", report.posts_scanned, total)
            posts = following
    finally:
        if writing is not None:
            # A transaction under way finishes whatever happens here (it cannot be cut
            # short on the database thread): wait for it, and report its matches.
            report.new_matches += await writing


async def _scan_backlog_in_processes(
    framings: FramingRepository,
    matches: MatchRepository,
    rules: RulesCache,
    clock: Clock,
    workers: int,
    report: ScanReport,
    progress: Progress | None,
) -> None:
    """Match a backlog of at least MIN_BACKLOG posts in worker processes, writing each
    batch here in id order; posts stored or edited meanwhile are left to scan_new_posts.
    Twice as many batches as workers are in flight, so no worker waits for a write."""
    total = await matches.scan_backlog()
    path = matches.sqlite_file  # None on PostgreSQL: workers there are issue 12's next step
    if total < MIN_BACKLOG or path is None or path == ":memory:":
        return
    # The workers compile the rules; this process needs no matcher unless posts are left.
    version, terms = await read_rules(framings)
    pool = MatchPool(path, terms, version, workers)
    in_flight: deque[asyncio.Future[Batch]] = deque()
    try:
        await _drain_with_pool(pool, matches, clock, workers, total, in_flight, report, progress)
    except BrokenProcessPool:
        # A worker died (killed, out of memory, could not start): what was written stays
        # written, and scan_new_posts matches the rest here, in this process.
        log.warning("scan worker processes failed; matching the rest in this process")
    finally:
        for waiting in in_flight:
            waiting.cancel()
        await asyncio.to_thread(pool.close)


async def _drain_with_pool(
    pool: MatchPool,
    matches: MatchRepository,
    clock: Clock,
    workers: int,
    total: int,
    in_flight: deque[asyncio.Future[Batch]],
    report: ScanReport,
    progress: Progress | None,
) -> None:
    after = 0
    while True:
        while len(in_flight) < 2 * workers:
            ids = await matches.queued_ids(POOL_BATCH, after)
            if not ids:
                break
            in_flight.append(asyncio.ensure_future(pool.match_between(ids[0], ids[-1])))
            after = ids[-1]
        if not in_flight:
            return
        marks, found = await in_flight[0]
        in_flight.popleft()
        # Written with the version that found them: terms added since are applied by the
        # rescan pass, as after any scan (replace_for_posts drops removed terms' matches).
        report.new_matches += await matches.replace_for_posts(marks, found, clock(), pool.version)
        report.posts_scanned += len(marks)
        if progress is not None:
            progress("scanning", report.posts_scanned, total)


async def rescan_batch(
    framings: FramingRepository,
    matches: MatchRepository,
    rules: RulesCache,
    clock: Clock,
    batch: int,
) -> RescanStep | None:
    """Apply the terms still being rescanned to the next `batch` stored posts.

    None when no rescan is due. Terms newer than the compiled matcher wait for the next
    call (the matcher would not find them, and their cursor must not move).
    """
    waiting = await matches.pending_terms()
    if not waiting:  # the usual case: no matcher needed (none compiled for it)
        return None
    compiled = await rules.current(framings)
    pending = [t for t in waiting if t.version <= compiled.version]
    if not pending:
        return None
    cursors = {t.term_id: t.rescanned_through for t in pending}
    start = min(cursors.values())
    # Posts last scanned at the newest pending version or later already have every pending
    # term (e.g. posts and a pack that arrived together): they are skipped.
    posts = await matches.posts_after(start, batch, max(t.version for t in pending))
    matcher = await rules.subset(compiled, frozenset(cursors))
    found = await asyncio.to_thread(match_posts, matcher, posts, cursors)
    done = len(posts) < batch  # every stored post after the lowest cursor is covered
    through = posts[-1].post_id if posts else start
    new = await matches.add_rescan_batch(
        found, list(cursors), through, done, clock(), compiled.version
    )
    return RescanStep(len(posts), len(cursors) if done else 0, new)


async def _rescan_total(matches: MatchRepository) -> int | None:
    """Posts the unfinished rescans still have to visit (the slowest framing's), if any."""
    left = [p.stored - p.covered for p in (await matches.rescan_progress()).values()]
    return max(left) if left else None


def rescan_percent(progress: RescanProgress) -> int:
    """Posts covered / posts stored, rounded down; never 100 while unfinished."""
    if progress.stored <= 0:
        return 0
    return min(99, progress.covered * 100 // progress.stored)
