"""The pending-channel cards: their text, their Approve / Leave buttons, who gets them.

Shared by /channels (which lists pending channels), channel_posts (which tells the admins
about a new pending channel) and approvals (which answers the buttons).
"""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.context import Context, services_of
from bot.telegram_text import Line, Text, fit
from handlers.common import reply
from storage.models import ChannelStats

log = logging.getLogger(__name__)

CARDS_PER_LIST = 10  # /channels shows at most this many pending cards (a flood stays short)
NOTIFY_PENDING_MAX = 20  # above this many pending channels, admins get no more cards
_BUTTON = re.compile(r"chan:(approve|leave):(-?[0-9]{1,19})")


def parse_button(data: object) -> tuple[str, int] | None:
    """(action, chat id) of a button FrameWatch made; None for anything else."""
    found = _BUTTON.fullmatch(data) if isinstance(data, str) else None
    return (found[1], int(found[2])) if found else None


def keyboard(chat_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Approve", callback_data=f"chan:approve:{chat_id}"),
                InlineKeyboardButton("Leave", callback_data=f"chan:leave:{chat_id}"),
            ]
        ]
    )


def channel_name(channel: ChannelStats) -> Line:
    """The channel's title, @name and id, as pieces for the renderer."""
    at = f" @{channel.username}" if channel.username else ""
    return ["<b>", Text(channel.title or "untitled"), "</b>", Text(at), f" ({channel.chat_id})"]


def pending_card(channel: ChannelStats) -> str:
    who = (
        f"added by user {channel.added_by}"
        if channel.added_by is not None
        else "its posts came without word of who added me"
    )
    return fit(
        [
            "Channel waiting for approval: ",
            *channel_name(channel),
            f" · {who} · {channel.post_count} posts stored. Until a moderator approves it, "
            "its posts stay out of digests and counts. Leave: I leave it; its posts stay "
            "stored, uncounted.",
        ]
    )


async def send_card(context: Context, chat_id: int, channel: ChannelStats) -> None:
    await context.bot.send_message(
        chat_id,
        pending_card(channel),
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(channel.chat_id),
    )


async def notify_pending(context: Context, chat_id: int) -> None:
    """Tell the admins a channel waits for approval. Best effort: intake never fails on it."""
    services = services_of(context)
    channel = await services.channels.find(str(chat_id))
    if channel is None:
        return
    if await services.channels.approvals.count_pending() > NOTIFY_PENDING_MAX:
        log.warning("channel %s pending; over %d pending: no card", chat_id, NOTIFY_PENDING_MAX)
        return
    for admin in sorted(services.settings.admin_ids):
        try:
            await send_card(context, admin, channel)
        except TelegramError as exc:  # e.g. the admin never started the bot
            log.warning("could not tell admin %s about channel %s: %s", admin, chat_id, exc)


async def list_pending(update: Update, context: Context, channels: list[ChannelStats]) -> None:
    """/channels: one card with buttons per pending channel (the first few listed)."""
    pending = [c for c in channels if c.approval == "pending"]
    chat = update.effective_chat
    if not pending or chat is None:
        return
    for channel in pending[:CARDS_PER_LIST]:
        await send_card(context, chat.id, channel)
    if len(pending) > CARDS_PER_LIST:
        more = len(pending) - CARDS_PER_LIST
        await reply(update, f"{more} more pending: /approve &lt;chat id&gt; approves one.")
