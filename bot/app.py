"""build_application: builds and wires everything. Nothing happens at import time."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes
from telegram.request import HTTPXRequest

from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.context import BotData, Services
from bot.database import open_db
from bot.inbox import DurablePoller
from bot.leader import Leadership, LeadershipLostError
from bot.raw_updates import IntakeBot
from bot.rules.scanner import KIND as SCANNER_KIND
from bot.single_instance import single_instance
from bot.webhook import WebhookConfig, WebhookIntake, WebhookListener
from handlers import ALLOWED_UPDATES, register, schedule
from storage.inbox import InboxRepository

log = logging.getLogger(__name__)

AnyApp = Application[Any, Any, Any, Any, Any, Any]

MENU = [
    BotCommand("help", "what FrameWatch does and your commands"),
    BotCommand("subscribe", "daily digest on"),
    BotCommand("unsubscribe", "daily digest off"),
    BotCommand("digest", "the last 24 hours, now"),
    BotCommand("search", "search stored posts (analysts)"),
    BotCommand("explain", "which framings a text matches, and why (analysts)"),
    BotCommand("framings", "framings and terms (moderators)"),
    BotCommand("review", "mark matches right or wrong (moderators)"),
    BotCommand("follow", "watch a public channel (moderators)"),
]


def build_application(settings: Settings, services: Services) -> AnyApp:
    """The PTB application with FrameWatch's handlers and jobs; it does not poll by itself."""
    bot = IntakeBot(  # ExtBot that can fetch updates as raw JSON for the DurablePoller
        token=settings.token(),
        base_url=settings.api_base_url,
        # What ApplicationBuilder would give: many connections for handlers running side
        # by side, one for the long poll.
        request=HTTPXRequest(connection_pool_size=256),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
        rate_limiter=AIORateLimiter(max_retries=3),
    )
    app = (
        ApplicationBuilder()
        .bot(bot)
        .updater(None)  # our DurablePoller saves updates before acknowledging them
        .context_types(ContextTypes(bot_data=BotData))
        .build()
    )
    app.bot_data.bind(services)
    register(app)
    assert app.job_queue is not None, "install python-telegram-bot[job-queue]"
    schedule(app.job_queue)
    return app


async def run_bot(
    settings: Settings,
    clock: Clock = utc_now,
    poll_timeout: int = 30,
    webhook: WebhookConfig | None = None,
) -> None:
    """Run until SIGINT or SIGTERM: open storage, start jobs, poll durably (or take updates
    from Telegram's webhook POSTs). On SQLite, refuses to start (AlreadyRunningError) while
    another run holds the same database; on PostgreSQL, stands by until it holds the leader
    lock (bot/leader.py), and stops with LeadershipLostError if it loses it. A webhook's
    listener runs in every instance on PostgreSQL, standbys too: they save, the leader
    dispatches."""
    stop = asyncio.Event()
    _on_signals(stop)
    if not settings.on_postgres:
        with single_instance(settings.db_path):
            await _run_locked(settings, clock, poll_timeout, webhook, stop)
        return
    async with _listening(settings, clock, webhook) as listener:
        await _lead(settings, clock, poll_timeout, webhook, stop, listener)


@asynccontextmanager
async def _listening(
    settings: Settings, clock: Clock, webhook: WebhookConfig | None
) -> AsyncIterator[WebhookListener | None]:
    """The webhook's listener for the process's life (None without --webhook), on a pool
    of its own: it saves while the instance stands by and while it leads."""
    if webhook is None:
        yield None
        return
    db = await open_db(settings.database())
    listener = WebhookListener(InboxRepository(db), clock, webhook)
    try:
        await listener.start()
        yield listener
    finally:
        try:
            await listener.close()
        finally:
            await db.close()


async def _lead(
    settings: Settings,
    clock: Clock,
    poll_timeout: int,
    webhook: WebhookConfig | None,
    stop: asyncio.Event,
    listener: WebhookListener | None,
) -> None:
    leadership = Leadership(settings.database())
    try:
        if not await leadership.acquire(stop):
            return  # stopped while standing by
        watcher = asyncio.ensure_future(leadership.watch(stop))
        try:
            await _run_locked(settings, clock, poll_timeout, webhook, stop, listener)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
    finally:
        await leadership.close()
    if leadership.lost:
        raise LeadershipLostError(
            f"lost the leader lock's connection to {leadership.lock.where}: stopped so that "
            "another instance leads; start this one again to stand by"
        )


async def _run_locked(
    settings: Settings,
    clock: Clock,
    poll_timeout: int,
    webhook: WebhookConfig | None,
    stop: asyncio.Event,
    listener: WebhookListener | None = None,
) -> None:
    db = await open_db(settings.database())
    services = Services.create(settings, db, clock)
    try:
        app = build_application(settings, services)
        async with app:
            await _announce(app, polling=webhook is None)
            await app.start()
            try:
                poller = DurablePoller(app, services, ALLOWED_UPDATES, poll_timeout)
                if webhook is None:
                    await _until_stopped(poller.run(stop), stop)
                else:  # it stops by itself at `stop`, after draining the handlers
                    intake = WebhookIntake(
                        app, services, poller, webhook, ALLOWED_UPDATES, listener=listener
                    )
                    await intake.run(stop)
            finally:
                await app.stop()
    finally:
        try:
            await services.close()
        finally:
            await db.close()


async def _until_stopped(polling: Any, stop: asyncio.Event) -> None:
    """Run the poller; a stop signal cancels a long poll at once (nothing unsaved is acked)."""
    task = asyncio.ensure_future(polling)
    waiter = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    for pending in (task, waiter):
        if pending not in done:
            pending.cancel()
    await asyncio.gather(task, waiter, return_exceptions=True)
    if task in done:
        task.result()


async def _announce(app: AnyApp, polling: bool = True) -> None:
    """Drop any webhook (getUpdates fails while one is set) and publish the command menu."""
    if polling:
        await app.bot.delete_webhook(drop_pending_updates=False)
    try:
        await app.bot.set_my_commands(MENU)
    except TelegramError as exc:
        log.warning("could not set the command menu: %s", exc)
    log.info("FrameWatch is running as @%s; rule scanner: %s", app.bot.username, SCANNER_KIND)


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
