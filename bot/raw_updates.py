"""getUpdates as raw JSON, and the rows the inbox saves from it.

PTB's Bot.get_updates parses the whole batch before returning it: one update it cannot
parse (an entity without `offset`, `"channel_post": "hello"`) fails the call, nothing is
saved or acknowledged, and the same batch comes back forever. So FrameWatch asks for the
raw list, saves every element as it came, and parses each one on its own at dispatch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from telegram.ext import ExtBot

from storage.models import InboxUpdate

READ_SLACK_SECONDS = 10.0  # beyond the long-poll timeout, as PTB's get_updates adds its own


class MalformedBatchError(Exception):
    """getUpdates answered with something other than a list, or only elements without an
    update_id: nothing can be acknowledged, so the poller waits before asking again."""


class IntakeBot(ExtBot[int]):  # int: AIORateLimiter's per-call argument type
    """ExtBot plus getUpdates without parsing. Subclassing is PTB's own way to extend the
    Bot (ExtBot does it); `_post` applies the token, timeouts and error mapping (Conflict,
    RetryAfter, InvalidToken ...) exactly as for every other method, and getUpdates keeps
    its own connection and bypasses the rate limiter there."""

    async def get_raw_updates(
        self, offset: int | None, long_poll: int, allowed_updates: Sequence[str], limit: int = 100
    ) -> object:
        data = {
            "offset": offset,
            "timeout": long_poll,
            "limit": limit,
            "allowed_updates": list(allowed_updates),
        }
        result: object = await self._post(
            "getUpdates", data, read_timeout=long_poll + READ_SLACK_SECONDS
        )
        return result


def rows_of(batch: object) -> tuple[list[InboxUpdate], int | None]:
    """The inbox rows of a raw batch and its highest valid update_id (None: no valid one).

    An element without an integer update_id (Telegram never sends one, a broken proxy
    might) is kept under a negative key derived from its content, so fetching it again
    saves it once, and it never moves the offset."""
    if not isinstance(batch, list):
        raise MalformedBatchError(f"getUpdates returned {type(batch).__name__}, not a list")
    rows, last = [], None
    for element in batch:
        payload = json.dumps(element)
        update_id = element.get("update_id") if isinstance(element, dict) else None
        if type(update_id) is int and 0 <= update_id < 2**62:
            rows.append(InboxUpdate(update_id, payload))
            last = update_id if last is None else max(last, update_id)
        else:
            rows.append(InboxUpdate(keyless_id(payload), payload))
    return rows, last


def keyless_id(payload: str) -> int:
    """A stable negative key for an element without a usable update_id."""
    digest = hashlib.sha256(payload.encode()).digest()
    return -(int.from_bytes(digest[:7], "big") + 1)


def posted_row(body: bytes) -> InboxUpdate | None:
    """The inbox row of one update POSTed to the webhook, or None if the body is not a JSON
    object with a valid update_id (Telegram always sends one: anything else is refused)."""
    try:
        element = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or absurdly nested
        return None
    update_id = element.get("update_id") if isinstance(element, dict) else None
    if type(update_id) is not int or not 0 <= update_id < 2**62:
        return None
    return InboxUpdate(update_id, json.dumps(element))
