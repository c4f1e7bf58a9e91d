"""Webhook intake: `framewatch run --webhook URL`, the alternative to polling.

Telegram POSTs each update to URL (https, through a TLS proxy that forwards to the local
listener, bot/webhook_listener.py), which saves it in the durable inbox before answering
200. Here the leader registers the webhook and dispatches the saved rows with the same code
as polled ones (DurablePoller.start_saved: one chat's updates in order, failures retried,
poison updates quarantined).

On PostgreSQL every instance listens, and the leader dispatches what any of them saved: the
inbox's NOTIFY at commit wakes it (storage/pg/notify.py), and every poll_seconds it looks for
rows never tried, so a notification lost while its LISTEN session was down only delays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from telegram.error import BadRequest
from telegram.ext import Application

from bot.config import ConfigError
from bot.context import Services
from bot.inbox import DurablePoller
from bot.logs import redact
from bot.webhook_listener import (
    SECRET_HEADER,
    WebhookConfig,
    WebhookListener,
    check_webhook_url,
    webhook_config,
)
from storage.inbox import INBOX_CHANNEL

if TYPE_CHECKING:
    from storage.pg.notify import NotifyListener

__all__ = [
    "SECRET_HEADER",
    "WebhookConfig",
    "WebhookIntake",
    "WebhookListener",
    "check_webhook_url",
    "webhook_config",
]

log = logging.getLogger(__name__)

RETRY_SECONDS = 30.0  # failed rows get their next try at least this often (as a long poll)
POLL_SECONDS = 1.0  # PostgreSQL: the look for untried rows, should a notification be lost


class WebhookIntake:
    """The leader's side: register the webhook, dispatch saved updates until stopped."""

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        services: Services,
        poller: DurablePoller,
        config: WebhookConfig,
        allowed_updates: list[str],
        retry_seconds: float = RETRY_SECONDS,
        listener: WebhookListener | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._bot = app.bot
        self._retry_seconds = retry_seconds
        self._poll_seconds = poll_seconds
        self._services = services
        self._poller = poller
        self._config = config
        self._allowed = allowed_updates
        self._wake = asyncio.Event()
        self._fresh: set[int] = set()  # saved since the last round
        # Without a listener of the process's (SQLite, tests) the intake runs its own.
        self._own_listener = listener is None
        self._listener = listener or WebhookListener(services.inbox, services.clock, config)

    async def run(self, stop: asyncio.Event) -> None:
        """Listen, register the webhook with Telegram, dispatch until `stop` is set. The
        webhook stays registered at the end: Telegram keeps new updates until a restart."""
        if self._own_listener:
            await self._listener.start()
        self._listener.on_saved = self._saved
        try:
            await self._register()
            await self._dispatch_until(stop)
        finally:
            self._listener.on_saved = None
            if self._own_listener:
                await self._listener.close()  # no new updates are accepted ...
            await self._poller.drain(timeout=10.0)  # ... and those being handled finish

    def _saved(self, update_id: int) -> None:
        self._fresh.add(update_id)
        self._wake.set()

    def _notified(self, payload: str) -> None:
        """Another instance (or this one) committed new updates from this update_id on."""
        with contextlib.suppress(ValueError):
            self._saved(int(payload))

    async def _register(self) -> None:
        # A 429 (setWebhook is rate-limited: quick restarts meet it) is waited out and tried
        # again by the bot's AIORateLimiter, as for every other call.
        try:
            await self._bot.set_webhook(
                url=self._config.url,
                secret_token=self._config.secret,
                allowed_updates=self._allowed,
                drop_pending_updates=False,
            )
        except BadRequest as exc:  # e.g. a URL Telegram cannot resolve or reach
            secrets = [*self._services.settings.secrets(), self._config.secret]
            message = redact(exc.message, secrets)
            raise ConfigError(
                f"Telegram refused the webhook {self._config.url}: {message}"
            ) from None
        log.info("Telegram sends updates to %s", self._config.url)

    async def _dispatch_until(self, stop: asyncio.Event) -> None:
        """Rounds: on each new update, the untried rows from the lowest new update_id on
        (POSTs on parallel connections arrive a little out of order); every retry_seconds
        all pending rows, so failed ones get their next try; on PostgreSQL every
        poll_seconds the untried."""
        waiter = asyncio.ensure_future(stop.wait())
        waiter.add_done_callback(lambda _: self._wake.set())
        notices = self._notify_listener()
        try:
            if notices is not None:
                await notices.ensure()  # before the replay: nothing saved meanwhile is missed
            replayed = await self._poller.start_saved()
            if replayed:
                log.info("replaying %d updates saved before the last stop", replayed)
            await self._rounds(stop, notices)
        finally:
            waiter.cancel()
            if notices is not None:
                await notices.close()

    async def _rounds(self, stop: asyncio.Event, notices: NotifyListener | None) -> None:
        loop = asyncio.get_running_loop()
        next_full = loop.time() + self._retry_seconds
        tick = self._retry_seconds if notices is None else self._poll_seconds
        while not stop.is_set():
            try:
                async with asyncio.timeout(max(0.0, min(tick, next_full - loop.time()))):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            fresh, self._fresh = self._fresh, set()
            if stop.is_set():
                return
            if loop.time() >= next_full:
                next_full = loop.time() + self._retry_seconds
                await self._round(None)
            elif fresh:  # new rows only: a failed one waits for the periodic round (even
                # when a NOTIFY, this instance's echo included, announces it again)
                await self._round(min(fresh) - 1, untried=True)
            elif notices is not None:
                await notices.ensure()
                await self._round(None, untried=True)

    def _notify_listener(self) -> NotifyListener | None:
        """A NotifyListener on PostgreSQL (imported there only: asyncpg), else None."""
        settings = self._services.settings
        if not settings.on_postgres:
            return None
        from storage.pg.notify import NotifyListener

        return NotifyListener(settings.database(), INBOX_CHANNEL, self._notified)

    async def _round(self, after: int | None, untried: bool = False) -> None:
        try:
            await self._poller.start_saved(after, untried)
        except Exception:  # e.g. the disk is full: the rows stay pending for the next round
            log.exception(
                "dispatching saved updates failed; retrying in %.0f s", self._retry_seconds
            )
