"""What `framewatch inbox` and /inbox share: reading which updates to act on, and one line
per quarantined update (plain text; the bot escapes it); and the admins' notice."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `framewatch inbox` builds its parser from this module without them
    from telegram import Bot

    from storage.inbox import QuarantinedUpdate

log = logging.getLogger(__name__)

NOTICE_EVERY = timedelta(hours=1)

SELECTION_HELP = "update ids from the list (e.g. 1005 1007), or all"


class SelectionError(ValueError):
    """The words do not name quarantined updates; the message says what to write."""


def parse_selection(words: Sequence[str]) -> list[int] | None:
    """Update ids, or None for `all`."""
    if [w.lower() for w in words] == ["all"]:
        return None
    ids = []
    for word in words:
        try:
            ids.append(int(word.lstrip("#")))
        except ValueError:
            raise SelectionError(f"{word!r} is not an update id; give {SELECTION_HELP}") from None
    if not ids:
        raise SelectionError(f"say which updates: {SELECTION_HELP}")
    return ids


def kind_of(payload: str) -> str:
    """What the update was, from its raw JSON: its first field besides update_id."""
    try:
        data = json.loads(payload)
    except ValueError:
        return "not JSON"
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}"
    fields = [k for k in data if k != "update_id"]
    return str(fields[0])[:40] if fields else "empty"


def line(update: QuarantinedUpdate, zone: tzinfo) -> str:
    when = update.quarantined_at.astimezone(zone)
    return (
        f"{update.update_id}  {when:%Y-%m-%d %H:%M}  {kind_of(update.payload)}, "
        f"{update.attempts} attempt(s): {update.error}"
    )


class AdminNotice:
    """Tells the admins in Telegram that updates were set aside: at most one message an
    hour, so a flood of hostile updates cannot turn into a flood of notices."""

    def __init__(self, bot: Bot, admin_ids: Iterable[int], every: timedelta = NOTICE_EVERY):
        self._bot = bot
        self._admins = sorted(admin_ids)
        self._every = every
        self._last: datetime | None = None
        self._unsent = 0

    async def set_aside(self, update_id: int, error: str, now: datetime) -> None:
        self._unsent += 1
        if self._last is not None and now - self._last < self._every:
            return
        text = (
            f"FrameWatch set aside {self._unsent} update(s) that could not be handled "
            f"(newest: {update_id}, {error}). /inbox shows them, to retry or drop."
        )
        self._last, self._unsent = now, 0
        from telegram.error import TelegramError  # here: the CLI imports this module too

        for admin in self._admins:
            try:
                await self._bot.send_message(admin, text)
            except TelegramError as exc:  # e.g. the admin never started the bot
                log.warning("could not tell admin %s about the quarantine: %s", admin, exc)
