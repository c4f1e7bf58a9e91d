"""Webhook intake: `framewatch run --webhook URL`, the alternative to polling.

Telegram POSTs each update to URL (https, through a TLS proxy that forwards to the local
listener). The listener checks the secret token header, saves the raw update in the durable
inbox and commits, and only then answers 200: an update whose save fails, or whose process
dies first, gets no 200, and Telegram sends it again. Saved rows are dispatched by the same
code as polled ones (DurablePoller.start_saved: one chat's updates in order, failures
retried, poison updates quarantined), and a repeated update_id is saved once.

PTB's own webhook server (Updater.start_webhook) parses the update and answers 200 before
anything is stored, logs a wrong secret token, and compares it with `!=`: it cannot feed
the durable inbox, so this is a small aiohttp handler of our own.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram.error import BadRequest
from telegram.ext import Application

from bot.config import ENV_PREFIX, ConfigError, Settings
from bot.context import Services
from bot.inbox import DurablePoller
from bot.logs import redact
from bot.raw_updates import posted_row
from storage.models import InboxUpdate

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1 << 20  # an update is a few kB; Telegram caps a message at 4096 characters
TELEGRAM_PORTS = frozenset({443, 80, 88, 8443})  # the only ports setWebhook accepts
RETRY_SECONDS = 30.0  # failed rows get their next try at least this often (as a long poll)


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    url: str
    secret: str = field(repr=False)
    listen: str
    port: int

    @property
    def path(self) -> str:
        """Where the listener accepts POSTs: the URL's path (a proxy must keep it)."""
        return urlsplit(self.url).path or "/"


def webhook_config(url: str, settings: Settings) -> WebhookConfig:
    """The checked webhook settings, or ConfigError (one line, never the secret)."""
    return WebhookConfig(
        check_webhook_url(url),
        settings.webhook_secret_value(),
        settings.webhook_listen,
        settings.webhook_port,
    )


def check_webhook_url(url: str) -> str:
    value = url.strip()
    shown = repr(value[:100])
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ConfigError(f"--webhook: cannot read {shown} as a URL") from None
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ConfigError(
            f"--webhook needs an https:// URL (Telegram sends updates only over TLS), got {shown}"
        )
    if port is not None and port not in TELEGRAM_PORTS:
        raise ConfigError(
            f"--webhook: Telegram sends updates only to ports 443, 80, 88 and 8443, got {port}"
        )
    if any(c.isspace() or c in "{}" for c in value) or parts.fragment:
        raise ConfigError(f"--webhook: {shown} has spaces, braces or a #fragment; give a plain URL")
    return value


class WebhookIntake:
    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        services: Services,
        poller: DurablePoller,
        config: WebhookConfig,
        allowed_updates: list[str],
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._bot = app.bot
        self._retry_seconds = retry_seconds
        self._services = services
        self._poller = poller
        self._config = config
        self._allowed = allowed_updates
        self._secret = config.secret.encode()
        self._wake = asyncio.Event()
        self._fresh: set[int] = set()  # saved since the last round
        self._saver = GroupSaver(services)

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(self._config.path, self._receive)
        return app

    async def run(self, stop: asyncio.Event) -> None:
        """Listen, register the webhook with Telegram, dispatch until `stop` is set. The
        webhook stays registered at the end: Telegram keeps new updates until a restart."""
        runner = web.AppRunner(self.web_app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await self._listen(runner)
            await self._register()
            await self._dispatch_until(stop)
        finally:
            await runner.cleanup()  # no new updates are accepted ...
            await self._poller.drain(timeout=10.0)  # ... and those being handled finish

    async def _listen(self, runner: web.AppRunner) -> None:
        listen, port = self._config.listen, self._config.port
        try:
            await web.TCPSite(runner, listen, port).start()
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {listen}:{port} ({exc.strerror or exc}); set "
                f"{ENV_PREFIX}WEBHOOK_LISTEN and {ENV_PREFIX}WEBHOOK_PORT"
            ) from None
        log.info("webhook intake listening on %s:%s%s", listen, port, self._config.path)

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
        """Rounds: on each new update, from the lowest new update_id on (POSTs on parallel
        connections arrive a little out of order); every retry_seconds all pending rows,
        so failed ones get their next try."""
        waiter = asyncio.ensure_future(stop.wait())
        waiter.add_done_callback(lambda _: self._wake.set())
        try:
            replayed = await self._poller.start_saved()
            if replayed:
                log.info("replaying %d updates saved before the last stop", replayed)
            while not stop.is_set():
                try:
                    async with asyncio.timeout(self._retry_seconds):
                        await self._wake.wait()
                    full = False
                except TimeoutError:
                    full = True
                self._wake.clear()
                fresh, self._fresh = self._fresh, set()
                if not stop.is_set() and (full or fresh):
                    await self._round(None if full else min(fresh) - 1)
        finally:
            waiter.cancel()

    async def _round(self, after: int | None) -> None:
        try:
            await self._poller.start_saved(after)
        except Exception:  # e.g. the disk is full: the rows stay pending for the next round
            log.exception(
                "dispatching saved updates failed; retrying in %.0f s", self._retry_seconds
            )

    async def _receive(self, request: web.Request) -> web.Response:
        if not self._authentic(request.headers.get(SECRET_HEADER)):
            # Never log the header: a near miss would leak most of the secret.
            log.warning(
                "webhook: refused a request from %s without the right secret token", request.remote
            )
            return web.Response(status=403, text="wrong or missing secret token\n")
        body = await request.read()  # over client_max_size: aiohttp answers 413
        row = posted_row(body)
        if row is None:
            log.warning(
                "webhook: refused a body that is not a Telegram update (%d bytes)", len(body)
            )
            return web.Response(status=400, text="not a Telegram update\n")
        try:
            await self._saver.save(row)  # a repeated update_id is kept once
        except Exception:  # no 200: Telegram sends the update again
            log.exception("webhook: could not save update %s", row.update_id)
            return web.Response(status=500, text="could not save the update\n")
        self._fresh.add(row.update_id)
        self._wake.set()
        return web.Response(status=200)

    def _authentic(self, received: str | None) -> bool:
        if received is None:
            return False
        return hmac.compare_digest(received.encode("utf-8", "replace"), self._secret)


class GroupSaver:
    """Saves the updates of POSTs arriving together in one transaction (group commit):
    each caller still returns only once its own row is committed."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._queue: list[tuple[InboxUpdate, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def save(self, row: InboxUpdate) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((row, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        await done  # a caller gone meanwhile cancels only its wait: the row is still saved

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                await self._services.inbox.save([row for row, _ in batch], self._services.clock())
            except Exception as exc:
                outcome: BaseException | None = exc
            else:
                outcome = None
            for _, done in batch:
                if done.done():
                    continue
                if outcome is None:
                    done.set_result(None)
                else:
                    done.set_exception(outcome)
