"""Web-preview polls shared between processes on PostgreSQL (issue 12): claimed follows.

A process claims a few follows whose poll is due (storage/follows.py claim_due: SKIP LOCKED,
a lease of settings.lease_seconds), polls them with the usual poller (bot/sources/poller.py:
pages, backoff, the next poll time) and lets the claims go, so no channel is polled by two
processes at once. A killed process's claims lapse at their lease's end. The leader's poll
job on PostgreSQL runs these steps too (handlers/sources.py), so it and the workers share.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram.ext import ExtBot

from bot.context import Services
from bot.sources.poller import MAX_CONCURRENT_CHANNELS, PollReport

log = logging.getLogger(__name__)


async def poll_step(services: Services, bot: ExtBot[None]) -> int:
    """One unit of a worker's poll work (bot/worker.py): poll the due follows it could
    claim, as many as the poller polls at once; how many (0: none due and free)."""
    return len(await poll_claimed(services))


async def poll_claimed(
    services: Services, limit: int = MAX_CONCURRENT_CHANNELS
) -> list[PollReport]:
    lease = timedelta(seconds=services.settings.lease_seconds)
    now = services.clock()
    follows = await services.follows.claim_due(services.holder, now, now + lease, limit)
    if not follows:
        return []
    names = [f.username for f in follows]
    keeping = asyncio.create_task(_keep_claims(services, names, lease))
    try:
        reports = await services.web_poller().poll(follows)
    finally:
        keeping.cancel()
        await services.follows.release(services.holder, names)
    for report in reports:
        if report.new or report.edited:
            log.info("@%s: %d new, %d edited", report.username, len(report.new), len(report.edited))
    return reports


async def _keep_claims(services: Services, names: list[str], lease: timedelta) -> None:
    """A poll may outlast the lease (many pages, a slow t.me): the claims are extended every
    third of a lease while it runs, so no other process takes the channels meanwhile."""
    while True:
        await asyncio.sleep(lease.total_seconds() / 3)
        until = services.clock() + lease
        await services.follows.extend(services.holder, names, until)
