"""The webhook's HTTP side: check the secret token, save the raw update in the durable inbox
and commit, and only then answer 200. An update whose save fails, or whose process dies
first, gets no 200, and Telegram sends it again; a repeated update_id is saved once.

On PostgreSQL every `framewatch run --webhook` runs one (a proxy spreads Telegram's POSTs
over them), standbys too: they only save. The leader dispatches what any of them saved
(bot/webhook.py), told of its own saves through `on_saved` and of the others' by the
inbox's NOTIFY at commit (storage/inbox.py).

PTB's own webhook server (Updater.start_webhook) parses the update and answers 200 before
anything is stored, logs a wrong secret token, and compares it with `!=`: it cannot feed
the durable inbox, so this is a small aiohttp handler of our own.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from aiohttp import web

from bot.clock import Clock
from bot.config import ENV_PREFIX, ConfigError, Settings
from bot.raw_updates import posted_row
from storage.inbox import InboxRepository
from storage.models import InboxUpdate

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1 << 20  # an update is a few kB; Telegram caps a message at 4096 characters
TELEGRAM_PORTS = frozenset({443, 80, 88, 8443})  # the only ports setWebhook accepts
REFUSALS_LOGGED_EVERY = timedelta(minutes=1)  # per kind of refusal: see RefusalLog


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


class WebhookListener:
    """Accepts POSTs on config.listen:port at config.path from `start` until `close`."""

    def __init__(self, inbox: InboxRepository, clock: Clock, config: WebhookConfig) -> None:
        self._config = config
        self._secret = config.secret.encode()
        self._saver = GroupSaver(inbox, clock)
        self._refusals = RefusalLog(clock)
        self._runner: web.AppRunner | None = None
        # The leader's dispatcher while this process leads; None: save only.
        self.on_saved: Callable[[int], None] | None = None

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(self._config.path, self._receive)
        return app

    async def start(self) -> None:
        runner = web.AppRunner(self.web_app(), access_log=None, handle_signals=False)
        await runner.setup()
        listen, port = self._config.listen, self._config.port
        try:
            await web.TCPSite(runner, listen, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(
                f"cannot listen on {listen}:{port} ({exc.strerror or exc}); set "
                f"{ENV_PREFIX}WEBHOOK_LISTEN and {ENV_PREFIX}WEBHOOK_PORT"
            ) from None
        self._runner = runner
        log.info("webhook intake listening on %s:%s%s", listen, port, self._config.path)

    async def close(self) -> None:
        """No new updates are accepted; those being saved finish first."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        if not self._authentic(request.headers.get(SECRET_HEADER)):
            # Never log the header: a near miss would leak most of the secret.
            self._refusals.refused(
                "secret", f"a request from {request.remote} without the right secret token"
            )
            return web.Response(status=403, text="wrong or missing secret token\n")
        body = await request.read()  # over client_max_size: aiohttp answers 413
        row = posted_row(body)
        if row is None:
            self._refusals.refused(
                "body", f"a body that is not a Telegram update ({len(body)} bytes)"
            )
            return web.Response(status=400, text="not a Telegram update\n")
        try:
            await self._saver.save(row)  # a repeated update_id is kept once
        except Exception:  # no 200: Telegram sends the update again
            log.exception("webhook: could not save update %s", row.update_id)
            return web.Response(status=500, text="could not save the update\n")
        if self.on_saved is not None:
            self.on_saved(row.update_id)
        return web.Response(status=200)

    def _authentic(self, received: str | None) -> bool:
        if received is None:
            return False
        return hmac.compare_digest(received.encode("utf-8", "replace"), self._secret)


class RefusalLog:
    """Refused requests, logged at WARNING at most once per `every` for each kind, the next
    line saying how many went unlogged: whoever floods the listener with bad POSTs (a
    scanner, a misconfigured proxy) cannot flood the log or fill the disk with it."""

    def __init__(self, clock: Clock, every: timedelta = REFUSALS_LOGGED_EVERY) -> None:
        self._clock = clock
        self._every = every
        self._logged_at: dict[str, datetime] = {}
        self._unlogged: Counter[str] = Counter()

    def refused(self, kind: str, what: str) -> None:
        now = self._clock()
        last = self._logged_at.get(kind)
        if last is not None and now - last < self._every:
            self._unlogged[kind] += 1
            return
        self._logged_at[kind] = now
        unlogged = self._unlogged.pop(kind, 0)
        more = f" ({unlogged} more refused like it since the last such line)" if unlogged else ""
        log.warning("webhook: refused %s%s", what, more)


class GroupSaver:
    """Saves the updates of POSTs arriving together in one transaction (group commit):
    each caller still returns only once its own row is committed."""

    def __init__(self, inbox: InboxRepository, clock: Clock) -> None:
        self._inbox = inbox
        self._clock = clock
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
                await self._inbox.save([row for row, _ in batch], self._clock())
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
