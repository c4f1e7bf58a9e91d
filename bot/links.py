"""t.me links to channel posts.

Public channels have a username: https://t.me/<username>/<id>.
Private channels only have an id; the Bot API spells it -100<internal id>, and the
link uses the internal id: https://t.me/c/<internal id>/<id>.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CHANNEL_ID_PREFIX = 1_000_000_000_000  # -100xxxxxxxxxx: Bot API channel ids


def internal_channel_id(chat_id: int) -> int:
    """The id Telegram uses in t.me/c/ links for a Bot API channel id (-100123 -> 123)."""
    if chat_id <= -_CHANNEL_ID_PREFIX:
        return -chat_id - _CHANNEL_ID_PREFIX
    return abs(chat_id)


def post_link(chat_id: int, username: str | None, message_id: int) -> str:
    """The t.me link of one post, public if the channel has a username."""
    if username:
        return f"https://t.me/{username.lstrip('@')}/{message_id}"
    return f"https://t.me/c/{internal_channel_id(chat_id)}/{message_id}"


@dataclass(frozen=True, slots=True)
class PostRef:
    """A post named by a link: by channel username, or by Bot API chat id (t.me/c/)."""

    username: str | None
    chat_id: int | None
    message_id: int


_LINK = re.compile(
    r"(?:https?://)?(?:t\.me|telegram\.me)/(?:s/)?"
    r"(?:c/(?P<internal>[0-9]{1,15})|(?P<username>[A-Za-z][A-Za-z0-9_]{3,31}))"
    r"/(?P<message>[0-9]{1,10})/?"
)


def parse_post_link(text: str) -> PostRef | None:
    """The post a t.me link names (t.me/name/12, t.me/s/name/12, t.me/c/123/12), else None."""
    match = _LINK.fullmatch(text.strip())
    if match is None:
        return None
    message_id = int(match["message"])
    if match["internal"] is not None:
        return PostRef(None, -_CHANNEL_ID_PREFIX - int(match["internal"]), message_id)
    return PostRef(match["username"].lower(), None, message_id)
