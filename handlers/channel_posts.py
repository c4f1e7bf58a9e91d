"""Channel posts, their edits, and the bot joining or leaving channels.

Who added the bot decides whether a channel counts: a moderator or admin (or a channel
FrameWatch already follows) makes it watched at once; anyone else leaves it pending until a
moderator approves it (handlers.approvals). Its posts are stored either way.
"""

from __future__ import annotations

import logging

from telegram import Chat, ChatMember, Update
from telegram.error import TelegramError

from bot.context import Context, Services, services_of
from bot.ingest import post_from_channel_message, store_post
from bot.roles import Role, may, role_of
from handlers.approval_cards import notify_pending
from storage.chat_ids import synthetic_chat_id

log = logging.getLogger(__name__)

_IN = {ChatMember.ADMINISTRATOR, ChatMember.MEMBER, ChatMember.OWNER}


async def channel_post(update: Update, context: Context) -> None:
    """Store a channel post or its edit (CommandHandler never sees channel posts)."""
    message = update.channel_post or update.edited_channel_post
    post = post_from_channel_message(message) if message else None
    if post is None:
        return
    services = services_of(context)
    # A channel whose joining the bot never heard of (added before approval existed and
    # never registered, or the update was lost) waits for a moderator like any other.
    approvals = services.channels.approvals
    now = services.clock()
    if await approvals.ensure_known(post.chat_id, post.channel_username, post.channel_title, now):
        log.warning("posts from unregistered channel %s: pending approval", post.chat_id)
        await notify_pending(context, post.chat_id)
    await store_post(services.posts, post, now)


async def membership(update: Update, context: Context) -> None:
    """my_chat_member: the bot was added to, or removed from, a channel."""
    change = update.my_chat_member
    if change is None or change.chat.type != Chat.CHANNEL:
        return
    services = services_of(context)
    chat, adder = change.chat, change.from_user
    is_member = change.new_chat_member.status in _IN
    trusted = await _trusted(services, adder.id, chat.username)
    joined = await services.channels.set_membership(
        chat.id, chat.username, chat.title or "", is_member, services.clock(), adder.id, trusted
    )
    if is_member and chat.username:
        # Posts read from the channel's web preview before the bot joined move to its real id.
        synthetic = synthetic_chat_id(chat.username)
        await services.follows.adopt(chat.username, synthetic, chat.id, services.clock())
    log.info(
        "channel %s: bot %s by user %s (%s)",
        chat.id,
        "added" if is_member else "removed",
        adder.id,
        joined.approval,
    )
    if joined.new_pending:
        await notify_pending(context, chat.id)
    elif is_member and joined.approval == "rejected":
        await _leave_again(context, chat.id)


async def _trusted(services: Services, user_id: int, username: str | None) -> bool:
    """Whether whoever added the bot may have the channel watched without approval: a
    moderator or admin, or anyone adding it to a channel moderators already /follow."""
    if may(await role_of(services, user_id), Role.MODERATOR):
        return True
    return username is not None and await services.follows.get(username) is not None


async def _leave_again(context: Context, chat_id: int) -> None:
    """A moderator rejected this channel: being added again by a non-moderator changes
    nothing, and the bot leaves once more."""
    try:
        await context.bot.leave_chat(chat_id)
    except TelegramError as exc:
        log.info("could not leave rejected channel %s: %s", chat_id, exc)
