"""One exported message as an IncomingPost, or SkippedMessage saying why it is left out.

The file-level reading (which chats, where a message starts) is bot/sources/export.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.sources.export import IMPORTED_CHAT_TYPES, Chat, forward_origin_id
from storage.models import MAX_POST_CHARS, IncomingPost
from storage.numbers import ascii_int
from storage.timeutil import from_unix

_SUPERGROUPS = frozenset({"public_supergroup", "private_supergroup"})
_MEDIA_TYPES = {
    "video_file": "video",
    "animation": "animation",
    "voice_message": "voice",
    "audio_file": "audio",
    "video_message": "video_note",
    "sticker": "sticker",
}
_MEDIA_KEYS = (
    ("photo", "photo"),
    ("poll", "poll"),
    ("location_information", "location"),
    ("contact_information", "contact"),
)


class SkippedMessage(Exception):
    """A message that is not imported. `problem`: it is malformed, rather than of a kind
    FrameWatch does not keep (service messages, messages of private chats)."""

    def __init__(self, reason: str, problem: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problem = problem


@dataclass
class MessageReader:
    """Turns exported messages into IncomingPost."""

    zone: tzinfo  # of dates written without one (exports made before 2021)
    username: str | None = None  # the exported channel's public username (--username)
    local_dates: int = 0  # messages whose date had no zone, read in `zone`

    def post(self, message: Any, chat: Chat) -> IncomingPost:
        """One exported message as an IncomingPost; SkippedMessage says why not."""
        if chat.type not in IMPORTED_CHAT_TYPES:
            kind = chat.type or "chat of unknown type"
            raise SkippedMessage(f"in a {kind} (only channels and supergroups are imported)")
        if not isinstance(message, dict):
            raise SkippedMessage("not a JSON object", problem=True)
        kind = message.get("type", "message")
        if kind != "message":
            if isinstance(kind, str):
                raise SkippedMessage(f"{kind} message")  # "service": joins, pins, title changes
            raise SkippedMessage("its type is not a string", problem=True)
        message_id = message.get("id")
        if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id <= 0:
            raise SkippedMessage("missing or invalid id", problem=True)
        posted_at = self._moment(message, "date")
        if posted_at is None:
            raise SkippedMessage("missing or invalid date", problem=True)
        return IncomingPost(
            chat_id=chat.chat_id,
            message_id=message_id,
            posted_at=posted_at,
            edited_at=self._moment(message, "edited"),
            text=_text(message)[:MAX_POST_CHARS],
            channel_title=chat.name,
            channel_username=self.username,
            source="import",
            author=_author(message, chat),
            forwarded_from=_string(message.get("forwarded_from")),
            forwarded_from_chat_id=forward_origin_id(message.get("forwarded_from_id")),
            reply_to=_reply_to(message, chat),
            media=_media(message),
        )

    def _moment(self, message: dict[str, Any], key: str) -> datetime | None:
        """`<key>_unixtime` (exact), else `<key>`: local time of the exporting computer."""
        unix = message.get(f"{key}_unixtime")
        seconds = ascii_int(unix) if isinstance(unix, str) else unix if type(unix) is int else None
        try:
            if seconds is not None:
                return from_unix(seconds)
            local = message.get(key)
            if not isinstance(local, str):
                return None
            moment = datetime.fromisoformat(local)
            naive = moment.tzinfo is None
            moment = moment.replace(tzinfo=self.zone) if naive else moment
            moment.astimezone(UTC)  # in range as a UTC time too (storage keeps UTC)
            self.local_dates += naive and key == "date"
        except (ValueError, OverflowError, OSError):  # not a date, or past year 1..9999
            return None
        return moment


def describe_message(message: Any, chat: Chat) -> str:
    """Which message, for a report of one that was skipped."""
    message_id = message.get("id") if isinstance(message, dict) else None
    which = f"message {message_id!r}" if message_id is not None else "a message without id"
    return f"{which} in {chat.name or chat.bare_id or 'a chat'}"


def _text(message: dict[str, Any]) -> str:
    """The plain text, as the Bot API gives it: entity parts contribute their text only."""
    value = message.get("text", message.get("text_entities", ""))
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise SkippedMessage("text is neither a string nor a list", problem=True)
    parts = []
    for part in value:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text", ""), str):
            parts.append(part.get("text", ""))
        else:
            raise SkippedMessage("a part of the text has no string text", problem=True)
    return "".join(parts)


def _author(message: dict[str, Any], chat: Chat) -> str | None:
    # A channel's "from" is the channel itself; its signature is "author". In a
    # supergroup "from" is the member who wrote.
    if chat.type in _SUPERGROUPS:
        return _string(message.get("from")) or _string(message.get("author"))
    return _string(message.get("author"))


def _reply_to(message: dict[str, Any], chat: Chat) -> int | None:
    reply = message.get("reply_to_message_id")
    peer = message.get("reply_to_peer_id")
    if peer is not None and peer not in (f"channel{chat.bare_id}", chat.bare_id):
        return None  # a reply to a message of another chat: its id means nothing here
    return reply if isinstance(reply, int) and not isinstance(reply, bool) else None


def _media(message: dict[str, Any]) -> str | None:
    for key, kind in _MEDIA_KEYS:
        if key in message:
            return kind
    media_type = message.get("media_type")
    if isinstance(media_type, str):
        return _MEDIA_TYPES.get(media_type, media_type)
    return "document" if "file" in message else None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
