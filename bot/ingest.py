"""store_post(): the one way a post enters storage, whatever its source.

Telegram messages (channel posts, their edits, forwarded copies) become IncomingPost here;
later sources (web previews, exports) build IncomingPost themselves and call store_post.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from telegram import Chat, Message, MessageOriginChannel

from bot.links import post_link
from storage.models import MAX_POST_CHARS, IncomingPost, StoreResult
from storage.posts import PostRepository

log = logging.getLogger(__name__)


def post_from_channel_message(message: Message) -> IncomingPost | None:
    """A channel post or its edit, as an IncomingPost; None for anything else."""
    chat = message.chat
    if chat.type != Chat.CHANNEL:
        return None
    forwarded_from, forwarded_link = _forward_origin(message)
    origin = message.forward_origin
    from_channel = origin if isinstance(origin, MessageOriginChannel) else None
    return IncomingPost(
        chat_id=chat.id,
        message_id=message.message_id,
        posted_at=message.date,
        edited_at=message.edit_date,
        text=_text_of(message),
        channel_title=chat.title or "",
        channel_username=chat.username,
        source="bot",
        author=message.author_signature,
        forwarded_from=forwarded_from,
        forwarded_link=forwarded_link,
        reply_to=message.reply_to_message.message_id if message.reply_to_message else None,
        media=media_kind(message),
        forwarded_from_chat_id=from_channel.chat.id if from_channel else None,
        forwarded_from_message_id=from_channel.message_id if from_channel else None,
    )


def post_from_forward(message: Message) -> IncomingPost | None:
    """The original channel post behind a forwarded copy; None if not from a channel."""
    origin = message.forward_origin
    if not isinstance(origin, MessageOriginChannel):
        return None
    return IncomingPost(
        chat_id=origin.chat.id,
        message_id=origin.message_id,
        posted_at=origin.date,
        text=_text_of(message),
        channel_title=origin.chat.title or "",
        channel_username=origin.chat.username,
        source="forward",
    )


_MEDIA = (
    "photo",
    "video",
    "animation",
    "document",
    "audio",
    "voice",
    "video_note",
    "sticker",
    "poll",
    "location",
    "contact",
)


def media_kind(message: Message) -> str | None:
    """The kind of media a post carries, by Telegram's own field names."""
    return next((kind for kind in _MEDIA if getattr(message, kind, None)), None)


def _forward_origin(message: Message) -> tuple[str | None, str | None]:
    """Who a channel post was forwarded from: a name, and a link when it was a channel."""
    origin = message.forward_origin
    if origin is None:
        return None, None
    if isinstance(origin, MessageOriginChannel):
        link = post_link(origin.chat.id, origin.chat.username, origin.message_id)
        return origin.chat.title or origin.chat.username, link
    name = getattr(origin, "sender_user_name", None) or getattr(origin, "sender_user", None)
    chat = getattr(origin, "sender_chat", None)
    if chat is not None:
        return chat.title or chat.username, None
    if name is not None and not isinstance(name, str):
        return name.full_name, None
    return name, None


def _text_of(message: Message) -> str:
    text = message.text or message.caption or ""
    return text[:MAX_POST_CHARS]


async def store_post(posts: PostRepository, post: IncomingPost, now: datetime) -> StoreResult:
    result = await posts.store(post, now)
    log.info("post %s/%s from %s: %s", post.chat_id, post.message_id, post.source, result.outcome)
    return result


async def store_posts(
    posts: PostRepository, batch: Sequence[IncomingPost], now: datetime
) -> list[StoreResult]:
    """store_post for many posts at once (imports): one transaction, the same outcomes."""
    results = await posts.store_many(batch, now)
    log.debug("stored a batch of %d posts", len(batch))
    return results
