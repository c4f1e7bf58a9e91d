"""Channel posts, their edits, and the bot joining or leaving channels."""

from __future__ import annotations

import logging

from telegram import Chat, ChatMember, Update

from bot.context import Context, services_of
from bot.ingest import post_from_channel_message, store_post
from bot.sources.webpreview import synthetic_chat_id

log = logging.getLogger(__name__)

_IN = {ChatMember.ADMINISTRATOR, ChatMember.MEMBER, ChatMember.OWNER}


async def channel_post(update: Update, context: Context) -> None:
    """Store a channel post or its edit (CommandHandler never sees channel posts)."""
    message = update.channel_post or update.edited_channel_post
    post = post_from_channel_message(message) if message else None
    if post is None:
        return
    services = services_of(context)
    await store_post(services.posts, post, services.clock())


async def membership(update: Update, context: Context) -> None:
    """my_chat_member: the bot was added to, or removed from, a channel."""
    change = update.my_chat_member
    if change is None or change.chat.type != Chat.CHANNEL:
        return
    services = services_of(context)
    chat = change.chat
    is_member = change.new_chat_member.status in _IN
    await services.channels.set_membership(
        chat.id, chat.username, chat.title or "", is_member, services.clock()
    )
    if is_member and chat.username:
        # Posts read from the channel's web preview before the bot joined move to its real id.
        synthetic = synthetic_chat_id(chat.username)
        await services.follows.adopt(chat.username, synthetic, chat.id, services.clock())
    log.info("channel %s (%s): bot %s", chat.id, chat.title, "added" if is_member else "removed")
