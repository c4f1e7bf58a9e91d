"""Durable update intake: FrameWatch's own polling loop.

PTB's Updater acknowledges a batch (asks for the next offset) before the handlers
run, so a process killed in between loses those updates. Here every fetched update is
saved and committed in SQLite first; only the next getUpdates call (with a higher
offset) acknowledges it to Telegram; then the saved rows are dispatched in order and
marked processed. Rows left unprocessed by a crash are replayed at start, so handlers
must be (and are) idempotent: posts are upserted by (chat_id, message_id).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from telegram import Update
from telegram.error import Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.context import Services
from storage.models import InboxUpdate

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0


class DurablePoller:
    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        services: Services,
        allowed_updates: list[str],
        poll_timeout: int = 30,
    ) -> None:
        self._app = app
        self._services = services
        self._allowed = allowed_updates
        self._timeout = poll_timeout

    async def dispatch_saved(self) -> int:
        """Process every saved update not processed yet, oldest first."""
        done = 0
        while batch := await self._services.inbox.unprocessed():
            for saved in batch:
                await self._dispatch(saved)
                done += 1
        return done

    async def _dispatch(self, saved: InboxUpdate) -> None:
        error = None
        try:
            update = Update.de_json(json.loads(saved.payload), self._app.bot)
            # process_update hands handler exceptions to the error handlers itself.
            await self._app.process_update(update)
        except Exception as exc:  # a malformed payload must not block the queue forever
            log.exception("update %s could not be processed", saved.update_id)
            error = f"{type(exc).__name__}: {exc}"[:500]
        await self._services.inbox.mark_processed(saved.update_id, self._services.clock(), error)

    async def fetch_once(self, offset: int | None) -> int | None:
        """One getUpdates call: save the batch, then dispatch. Returns the next offset."""
        updates = await self._app.bot.get_updates(
            offset=offset, timeout=self._timeout, allowed_updates=self._allowed
        )
        if not updates:
            return offset
        saved = [InboxUpdate(u.update_id, json.dumps(u.to_dict())) for u in updates]
        await self._services.inbox.save(saved, self._services.clock())
        await self.dispatch_saved()
        return max(int(u.update_id) for u in updates) + 1

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set. Auth failures end the loop; network errors back off."""
        replayed = await self.dispatch_saved()
        if replayed:
            log.info("replayed %d updates saved before the last stop", replayed)
        offset = await self._services.inbox.next_offset()
        backoff = 1.0
        while not stop.is_set():
            try:
                offset = await self.fetch_once(offset)
                backoff = 1.0
            except (InvalidToken, Forbidden):
                raise
            except RetryAfter as exc:
                await _wait(stop, _seconds(exc.retry_after))
            except TimedOut:
                continue
            except NetworkError as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                await _wait(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            except Exception:
                # e.g. the disk is full: nothing fetched was acknowledged, so keep going
                # and let the next round retry instead of taking the bot down.
                log.exception("polling failed; retrying in %.0f s", backoff)
                await _wait(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        pass
