"""`framewatch worker`: a process that shares the heavy work of a PostgreSQL deployment.

A worker runs every step of STEPS in turn, over and over; each step claims a share of some
work through leases in the database (storage: claimed_by / claimed_until, FOR UPDATE SKIP
LOCKED), does it and returns how many items it did. When a whole round did nothing the
worker sleeps settings.worker_idle_seconds (waking at once on SIGTERM/SIGINT). A step that
fails is logged and the loop goes on: one broken kind of work does not stop the others.
SIGTERM lets the step under way finish (its lease's rows are recorded and released), then
the worker exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import cast

from telegram.ext import AIORateLimiter, BaseRateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.context import Services
from bot.database import open_db
from bot.fanout import digest_step
from bot.work_polls import poll_step
from bot.work_scan import scan_step

log = logging.getLogger(__name__)

Step = Callable[[Services, ExtBot[None]], Awaitable[int]]

# Every kind of work a worker shares, in the order a round runs them: digests first (people
# wait for them), then web-preview polls, then a scan step (up to four batches of posts, or a
# rescan batch).
STEPS: tuple[Step, ...] = (digest_step, poll_step, scan_step)


async def run_steps(
    services: Services, bot: ExtBot[None], stop: asyncio.Event, steps: tuple[Step, ...] = STEPS
) -> None:
    """Run the steps round after round until `stop`."""
    idle = services.settings.worker_idle_seconds
    while not stop.is_set():
        done = 0
        for step in steps:
            if stop.is_set():
                return
            try:
                done += await step(services, bot)
            except Exception:
                log.exception("worker step %s failed; going on", getattr(step, "__name__", step))
        if done == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), idle)


def worker_bot(settings: Settings) -> ExtBot[None]:
    """The worker's Bot API client. Its rate limiter keeps it under Telegram's 30 messages/s
    but does not retry a flood wait: the fan-out postpones that row and sends the others."""
    return ExtBot(
        token=settings.token(),
        base_url=settings.api_base_url,
        request=HTTPXRequest(connection_pool_size=64),
        # ExtBot[None] as the steps take it: AIORateLimiter ignores per-call arguments.
        rate_limiter=cast("BaseRateLimiter[None]", AIORateLimiter(max_retries=0)),
    )


async def run_worker(settings: Settings, clock: Clock = utc_now) -> None:
    """Run until SIGINT or SIGTERM (needs PostgreSQL: bot/commands/worker.py checks)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # With no retries PTB's rate limiter logs every flood wait as an error with a traceback
    # before raising it; the fan-out postpones that row and logs it in one line instead.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    db = await open_db(settings.database())
    services = Services.create(settings, db, clock)
    try:
        async with worker_bot(settings) as bot:
            log.info(
                "FrameWatch worker %s running as @%s: %s",
                services.holder,
                bot.username,
                ", ".join(getattr(s, "__name__", "?") for s in STEPS),
            )
            await run_steps(services, bot, stop)
        log.info("worker %s stopped", services.holder)
    finally:
        try:
            await services.close()
        finally:
            await db.close()
