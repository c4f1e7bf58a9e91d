"""Durable update intake: FrameWatch's own polling loop.

PTB's Updater acknowledges a batch (asks for the next offset) before the handlers
run, so a process killed in between loses those updates. Here every fetched update is
saved as raw JSON and committed in SQLite first (bot/raw_updates.py); only the next
getUpdates call (with a higher offset) acknowledges it to Telegram. Saved rows are then
parsed one by one and dispatched, and marked processed when their handler returned.
Rows left unprocessed by a crash are replayed at start, so handlers must be (and are)
idempotent: posts are upserted by (chat_id, message_id).

Updates of different chats are handled side by side, those of one chat in order
(bot/chat_order.py), so a slow /follow holds up nobody else.

Poison updates: an update that fails to parse, or whose handler raises, counts a failed
attempt and stays queued for the next round; at MAX_ATTEMPTS (storage/inbox.py) it is set
aside in the quarantine with its error, for an admin (`framewatch inbox`, /inbox). PTB's
process_update hands handler exceptions to the error handlers instead of raising them, so
the poller registers its own error handler that notes which update failed. A failed
command in a private chat is set aside at once: errors.on_error already told the user
nothing changed and to try again, so replaying it later would surprise them.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from typing import Any

from telegram import Chat, Update, User
from telegram.error import Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.chat_order import ChatOrder
from bot.context import Services
from bot.logs import redact
from bot.quarantine import AdminNotice
from bot.raw_updates import IntakeBot, MalformedBatchError, rows_of
from storage.models import InboxUpdate

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0
MAX_IN_FLIGHT = 256  # updates being handled or waiting for their chat; then fetching waits
MAX_CONCURRENT = 16  # handlers running at once


class MalformedUpdateError(Exception):
    """A saved element that is not an update object with its integer update_id."""


class DurablePoller:
    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        services: Services,
        allowed_updates: list[str],
        poll_timeout: int = 30,
        max_concurrent: int = MAX_CONCURRENT,
    ) -> None:
        if not isinstance(app.bot, IntakeBot):
            raise TypeError("build the application with bot.app.build_application")
        self._app = app
        self._bot: IntakeBot = app.bot
        self._services = services
        self._allowed = allowed_updates
        self._timeout = poll_timeout
        self._order = ChatOrder(max_concurrent)
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._settled: set[int] = set()  # finished since the last look at the pending rows
        self._failed: dict[int, BaseException] = {}  # update_id -> its handler's exception
        self._notice = AdminNotice(app.bot, services.settings.admin_ids)
        app.add_error_handler(self._note_failure)

    async def dispatch_saved(self) -> int:
        """Dispatch every pending saved update and wait until all are handled."""
        started = await self._start_saved()
        await self.drain()
        return started

    async def start_saved(self, after: int | None = None, untried: bool = False) -> int:
        """Start handling the pending saved rows (those after update_id `after`; None: all;
        `untried`: only rows never attempted) without waiting for the handlers: one round
        of the webhook intake (bot/webhook.py). Call it from one task at a time."""
        return await self._start_saved(after, untried)

    async def fetch_once(self, offset: int | None, wait: bool = True) -> int | None:
        """One getUpdates call: save the batch, dispatch it (and wait for the handlers
        unless `wait` is False). Returns the next offset."""
        rows, last = rows_of(await self._bot.get_raw_updates(offset, self._timeout, self._allowed))
        if rows:
            await self._services.inbox.save(rows, self._services.clock())
        await self._start_saved()  # also on an empty round: failed rows get their next try
        if wait:
            await self.drain()
        if rows and last is None:
            raise MalformedBatchError(f"{len(rows)} update(s) without an update_id")
        return offset if last is None else last + 1

    async def drain(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait for the updates being handled; after `timeout` seconds cancel the rest
        (their rows stay pending and are replayed at the next start)."""
        while self._in_flight:
            tasks = set(self._in_flight.values())
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            if pending:
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                return

    async def _start_saved(self, after: int | None = None, untried: bool = False) -> int:
        """Start handling every pending row not already being handled, oldest first.
        Each row is tried once per call: a failed one waits for the next round."""
        started = 0
        while True:
            # A handler finishing while the SELECT runs may be listed as pending yet no
            # longer be in flight: _settled remembers it, so it is not handled twice.
            self._settled.clear()
            batch = await self._services.inbox.unprocessed(after=after, untried=untried)
            if not batch:
                break
            after = batch[-1].update_id
            for saved in batch:
                if saved.update_id not in self._in_flight and saved.update_id not in self._settled:
                    await self._start(saved)
                    started += 1
        return started

    async def _start(self, saved: InboxUpdate) -> None:
        try:
            update = self._parse(saved)
        except Exception as exc:  # whatever the payload: set it aside, never block the queue
            await self._record_failure(saved.update_id, exc, final=False)
            return
        while len(self._in_flight) >= MAX_IN_FLIGHT:
            await asyncio.wait(set(self._in_flight.values()), return_when=asyncio.FIRST_COMPLETED)
        # Tasks start in creation order and enter ChatOrder before their first await, so
        # the updates of one chat keep their order.
        task = asyncio.create_task(self._handle(saved.update_id, update))
        self._in_flight[saved.update_id] = task
        task.add_done_callback(functools.partial(self._forget, saved.update_id))

    def _forget(self, update_id: int, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(update_id, None)
        self._settled.add(update_id)

    def _parse(self, saved: InboxUpdate) -> Update:
        data = json.loads(saved.payload)
        if not isinstance(data, dict) or saved.update_id < 0:
            raise MalformedUpdateError("not an update object with an integer update_id")
        return Update.de_json(data, self._bot)

    async def _handle(self, update_id: int, update: Update) -> None:
        chat = _chat_of(update)
        key = chat.id if chat is not None and type(chat.id) is int else None
        try:
            error = await self._order.run(key, lambda: self._process(update))
        except Exception as exc:  # defensive: nothing may leave a row pending forever
            error = exc
        try:
            if error is None:
                await self._services.inbox.mark_processed(update_id, self._services.clock())
            else:
                told = isinstance(chat, Chat) and chat.type == Chat.PRIVATE  # on_error told them
                await self._record_failure(update_id, error, final=told)
        except Exception:
            # e.g. the disk is full: the row stays pending and the next round retries it.
            log.exception("could not record the outcome of update %s", update_id)

    async def _process(self, update: Update) -> BaseException | None:
        try:
            await self._app.process_update(update)
        except Exception as exc:  # process_update raises only outside the handlers
            return exc
        return self._failed.pop(update.update_id, None)

    async def _note_failure(self, update: object, context: Any) -> None:
        """Error handler: remember which update's handler raised (errors.on_error logs it)."""
        if isinstance(update, Update) and context.error is not None:
            self._failed[update.update_id] = context.error

    async def _record_failure(self, update_id: int, exc: BaseException, final: bool) -> None:
        error = describe(exc, self._services.settings.secrets())
        set_aside = await self._services.inbox.record_failure(
            update_id, self._services.clock(), error, final
        )
        if set_aside:
            log.error(
                "update %s set aside in the quarantine (%s); see `framewatch inbox list`",
                update_id,
                error,
            )
            await self._notice.set_aside(update_id, error, self._services.clock())
        else:
            log.warning("update %s failed (%s); it is tried again later", update_id, error)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set. Auth failures end the loop; other errors back off."""
        try:
            await self._poll(stop)
        finally:
            await self.drain(timeout=10.0)

    async def _poll(self, stop: asyncio.Event) -> None:
        replayed = await self._start_saved()
        if replayed:
            log.info("replaying %d updates saved before the last stop", replayed)
        offset = await self._services.inbox.next_offset()
        backoff = 1.0
        while not stop.is_set():
            try:
                offset = await self.fetch_once(offset, wait=False)
                backoff = 1.0
                continue
            except (InvalidToken, Forbidden):
                raise
            except RetryAfter as exc:
                await _wait(stop, _seconds(exc.retry_after))
                continue
            except TimedOut:
                continue
            except Conflict:
                log.warning(
                    "Telegram says another process polls with this bot token (409 Conflict); "
                    "stop the other one. Retrying in %.0f s",
                    backoff,
                )
            except (NetworkError, MalformedBatchError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc, backoff)
            except Exception:
                # e.g. the disk is full: nothing fetched was acknowledged, so keep going
                # and let the next round retry instead of taking the bot down.
                log.exception("polling failed; retrying in %.0f s", backoff)
            await _wait(stop, backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


def describe(exc: BaseException, secrets: list[str]) -> str:
    """Error type and a short message, as the quarantine shows it; never the token."""
    text = f"{type(exc).__name__}: {redact(str(exc), secrets)}"
    return text if len(text) <= 300 else text[:299] + "…"


def _chat_of(update: Update) -> Chat | User | None:
    """The chat whose updates keep their order (the sender if there is no chat)."""
    try:
        return update.effective_chat or update.effective_user
    except Exception:  # a strange but parseable update: it simply waits for no one
        return None


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        pass
