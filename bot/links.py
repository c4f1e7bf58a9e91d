"""t.me links to channel posts.

Public channels have a username: https://t.me/<username>/<id>.
Private channels only have an id; the Bot API spells it -100<internal id>, and the
link uses the internal id: https://t.me/c/<internal id>/<id>.
"""

from __future__ import annotations

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
