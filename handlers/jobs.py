"""Scheduled work on PTB's JobQueue (APScheduler 3): scan, daily digest, catch-up."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.ext import JobQueue

from bot.alerts import send_alerts
from bot.context import Context, services_of
from bot.delivery import deliver_daily
from bot.digest_plan import due_batches
from bot.fanout import deliver_leased, digest_step
from bot.indexing import run_indexing
from bot.scan import run_scan
from bot.scan_pool import worker_count
from bot.work_scan import ScanWork, run_claimed_scan

log = logging.getLogger(__name__)

# APScheduler skips a run that starts more than misfire_grace_time late (default 1 s):
# a busy or suspended bot would silently lose its digest. Allow an hour, run once.
_LATE_OK = {"misfire_grace_time": 3600, "coalesce": True, "max_instances": 1}
INBOX_KEEP = timedelta(days=7)


# A rescan of new terms over the stored posts runs this many batches per scan job, then lets
# the digest (which waits for the scan lock) go first; a follow-up job continues it at once.
RESCAN_BATCHES_PER_RUN = 10
RESCAN_FOLLOW_UP = "rescan-continue"


async def scan_job(context: Context) -> None:
    services = services_of(context)
    async with services.scan_lock:
        if services.db.dialect.is_sqlite:
            report = await run_scan(
                services.framings,
                services.matches,
                services.clock,
                rules=services.rules,
                max_rescan_batches=RESCAN_BATCHES_PER_RUN,
                workers=worker_count(services.settings.scan_workers),
            )
        else:  # claimed batches, shared with `framewatch worker` processes (bot/work_scan.py)
            report = await run_claimed_scan(ScanWork.of(services), RESCAN_BATCHES_PER_RUN)
        # The same share of the search and near-duplicate indexes (bot/indexing.py), under
        # the lock too: the digest reads clusters, and two runs must not index one queue.
        indexed = await run_indexing(services.db, max_batches=RESCAN_BATCHES_PER_RUN)
    if report.posts_scanned or report.posts_rescanned or report.new_matches:
        log.info(
            "scan: %d posts, %d posts rescanned, %d new terms applied, %d new matches",
            report.posts_scanned,
            report.posts_rescanned,
            report.terms_backfilled,
            len(report.new_matches),
        )
    await send_alerts(context.bot, services)  # spikes the scan made: alerts, once each
    job_queue = context.job_queue
    pending = report.rescan_pending or indexed.pending
    if pending and job_queue and not job_queue.get_jobs_by_name(RESCAN_FOLLOW_UP):
        job_queue.run_once(scan_job, when=1, name=RESCAN_FOLLOW_UP, job_kwargs=_LATE_OK)


async def digest_job(context: Context) -> None:
    """Scan first so the digest sees every post stored up to now, then deliver."""
    await scan_job(context)
    services = services_of(context)
    if services.db.dialect.is_sqlite:
        await deliver_daily(context.bot, services)
    else:  # planned, then sent through leases that `framewatch worker` processes share
        await deliver_leased(context.bot, services)


async def fanout_job(context: Context) -> None:
    """PostgreSQL: send what is due of the planned deliveries, as a worker would: rows
    postponed by a flood wait, and rows whose holder died (its lease expired)."""
    services = services_of(context)
    while await digest_step(services, context.bot):
        pass


async def digest_minute_job(context: Context) -> None:
    """Each subscriber's own digest time (/settings): every minute, deliver (scan first)
    only when some subscriber's time has come and their period is not delivered yet."""
    services = services_of(context)
    if await due_batches(services, services.clock()):
        await digest_job(context)


async def housekeeping_job(context: Context) -> None:
    services = services_of(context)
    await services.inbox.prune(services.clock() - INBOX_KEEP)


def schedule(job_queue: JobQueue[Context]) -> None:
    services = job_queue.application.bot_data.services
    settings = services.settings
    digest_at = settings.digest_time.replace(tzinfo=settings.zone)
    job_queue.run_repeating(
        scan_job, interval=settings.scan_interval_seconds, first=1, name="scan", job_kwargs=_LATE_OK
    )
    job_queue.run_daily(digest_job, time=digest_at, name="daily-digest", job_kwargs=_LATE_OK)
    # Catch-up: at start (a digest missed while the bot was down) and every 15 minutes
    # (one postponed by a network failure or flood wait). Idempotent: sends only what is due.
    job_queue.run_repeating(
        digest_job, interval=900, first=2, name="digest-catch-up", job_kwargs=_LATE_OK
    )
    job_queue.run_repeating(
        digest_minute_job, interval=60, first=30, name="digest-minute", job_kwargs=_LATE_OK
    )
    if not services.db.dialect.is_sqlite:
        job_queue.run_repeating(
            fanout_job,
            interval=settings.worker_idle_seconds,
            first=5,
            name="digest-fanout",
            job_kwargs=_LATE_OK,
        )
    job_queue.run_repeating(housekeeping_job, interval=3600, first=60, name="housekeeping")
