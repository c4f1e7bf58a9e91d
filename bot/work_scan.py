"""Scans and rescans shared between processes on PostgreSQL (issue 12): claimed batches.

Every process that scans (the leader's scan job and each `framewatch worker`) runs the same
steps: compile the current rules (RulesCache), claim a batch of posts waiting for a scan
(storage/scan_claims.py: SKIP LOCKED, a lease of settings.lease_seconds), read their texts,
match them outside any transaction, then store: only the posts still claimed by this
process, and nothing if the rules changed meanwhile (the claims are let go and the next
claimant matches them with the new rules). With no post waiting, a step continues the
rescan of new terms the same way, claiming the terms instead of posts. A process killed
midway leaves claims that lapse at their lease's end; another then takes the work over.
On SQLite the one process scans as before (bot/scan.py); these steps work there too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from telegram.ext import ExtBot

from bot.clock import Clock
from bot.context import Services
from bot.matching import match_posts
from bot.scan import BATCH_SIZE, CompiledRules, RescanStep, RulesCache, ScanReport
from storage.framings import FramingRepository
from storage.matches import MatchRepository
from storage.models import MatchRow
from storage.scan_claims import ScanClaims

log = logging.getLogger(__name__)

# Batches a scan step claims at once: each is matched while the one before is written, so
# the process does not wait for the database between batches (as bot.scan.scan_new_posts).
# Two, not more: when the backlog runs out, whoever claimed last finishes alone, so a smaller
# claim keeps that tail short (bench/scan_workers.py, 50,000 posts: 2 processes 1.36x one
# with four batches a claim, 1.50x with two).
PIPELINE = 2


@dataclass(frozen=True, slots=True)
class Claimant:
    """Who claims (Services.holder) and for how long (settings.lease_seconds)."""

    holder: str
    lease: timedelta


@dataclass(frozen=True, slots=True)
class ScanWork:
    """What a scan step needs, from Services or built by a bench or test."""

    framings: FramingRepository
    matches: MatchRepository
    claims: ScanClaims
    rules: RulesCache
    clock: Clock
    claimant: Claimant
    batch: int = BATCH_SIZE

    @classmethod
    def of(cls, services: Services, batch: int = BATCH_SIZE) -> ScanWork:
        lease = timedelta(seconds=services.settings.lease_seconds)
        return cls(
            services.framings,
            services.matches,
            ScanClaims(services.db),
            services.rules,
            services.clock,
            Claimant(services.holder, lease),
            batch,
        )


@dataclass(slots=True)
class ScanBatch:
    posts: int  # posts claimed
    scanned: int = 0  # of which stored (the rest: rules changed meanwhile, left to redo)
    new_matches: list[MatchRow] = field(default_factory=list)


async def scan_step(services: Services, bot: ExtBot[None]) -> int:
    """One unit of a worker's scan work (bot/worker.py): a batch of new or edited posts,
    else a batch of a rescan; how many posts it matched (0: nothing to do)."""
    return await work_step(ScanWork.of(services))


async def work_step(work: ScanWork) -> int:
    """scan_step on a ScanWork of one's own (benches, tests)."""
    done = await scan_batch(work)
    if done is not None:
        return done.posts
    step = await rescan_step(work)
    if step is None:
        return 0
    return step.posts or step.terms_finished or 1  # a rescan ended over no posts: work too


async def scan_batch(work: ScanWork) -> ScanBatch | None:
    """Claim PIPELINE batches of posts waiting for a scan and match and store them, each
    batch matched (in a thread) while the one before is written; None: none left."""
    compiled = await work.rules.current(work.framings)  # compiled before the lease starts
    holder = work.claimant.holder
    now = work.clock()
    ids = await work.claims.claim_posts(
        holder, now, now + work.claimant.lease, work.batch * PIPELINE
    )
    if not ids:
        return None
    done = ScanBatch(len(ids))
    try:
        await _match_and_store(work, compiled, ids, done)
    finally:
        # Whatever was not stored (an error, a cancellation, the rules changed) is let go
        # at once rather than at the lease's end (each store lets its own batch go).
        if done.scanned < done.posts:
            await asyncio.shield(work.claims.release_posts(ids, holder))
    if done.scanned < done.posts:
        log.info("rules changed during a scan: %d posts left to redo", done.posts - done.scanned)
    return done


async def _match_and_store(
    work: ScanWork, compiled: CompiledRules, ids: list[int], done: ScanBatch
) -> None:
    holder = work.claimant.holder
    writing: asyncio.Task[list[MatchRow] | None] | None = None
    written = 0
    try:
        for first in range(0, len(ids), work.batch):
            chunk = ids[first : first + work.batch]
            posts = await work.claims.claimed_posts(chunk, holder)
            found = await asyncio.to_thread(match_posts, compiled.matcher, posts)
            if writing is not None:
                new, writing = await writing, None
                if new is None:
                    return  # the rules changed: the next claimant matches the rest anew
                done.scanned, done.new_matches = done.scanned + written, done.new_matches + new
            stamp = work.clock()
            store = work.claims.store_scanned(chunk, posts, found, stamp, compiled.version, holder)
            writing, written = asyncio.create_task(store), len(chunk)
    finally:
        if writing is not None:  # a transaction under way ends whatever happens here
            new = await writing
            if new is not None:
                done.scanned, done.new_matches = done.scanned + written, done.new_matches + new


async def rescan_step(work: ScanWork) -> RescanStep | None:
    """Claim the unfinished rescans nobody holds, apply them to the next batch of stored
    posts and store that; None: no rescan this process may take now."""
    compiled = await work.rules.current(work.framings)
    holder = work.claimant.holder
    now = work.clock()
    pending = await work.claims.claim_rescan(
        holder, now, now + work.claimant.lease, compiled.version
    )
    if not pending:
        return None
    ids = [t.term_id for t in pending]
    try:
        cursors = {t.term_id: t.rescanned_through for t in pending}
        start = min(cursors.values())
        # As bot.scan.rescan_batch: posts already scanned at the newest pending version
        # have every pending term; posts still waiting for a scan get them at their scan.
        posts = await work.matches.posts_after(start, work.batch, max(t.version for t in pending))
        matcher = await work.rules.subset(compiled, frozenset(cursors))
        found = await asyncio.to_thread(match_posts, matcher, posts, cursors)
    except BaseException:
        await asyncio.shield(work.claims.release_rescan(ids, holder))
        raise
    done = len(posts) < work.batch
    through = posts[-1].post_id if posts else start
    new = await work.claims.store_rescan(
        found, ids, through, done, work.clock(), compiled.version, holder
    )
    if new is None:
        return RescanStep(len(posts), 0, [])
    return RescanStep(len(posts), len(ids) if done else 0, new)


async def run_claimed_scan(work: ScanWork, max_rescan_batches: int | None = None) -> ScanReport:
    """The leader's scan job on PostgreSQL: claimed batches until no post waits that
    another process does not hold, then up to max_rescan_batches rescan batches (all:
    None); rescan_pending says the limit stopped it."""
    report = ScanReport()
    while (batch := await scan_batch(work)) is not None:
        report.posts_scanned += batch.scanned
        report.new_matches += batch.new_matches
    steps = 0
    while max_rescan_batches is None or steps < max_rescan_batches:
        step = await rescan_step(work)
        if step is None:
            break
        steps += 1
        report.posts_rescanned += step.posts
        report.terms_backfilled += step.terms_finished
        report.new_matches += step.new_matches
    report.rescan_pending = max_rescan_batches is not None and steps >= max_rescan_batches
    return report
