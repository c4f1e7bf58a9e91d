"""Channel approval by moderators: the Approve / Leave buttons and /approve.

A channel the bot was added to by someone who is not a moderator is pending: its posts are
stored but left out of digests and counts (storage.approvals). Buttons are hostile input
like any other: anyone who sees a card can press one, a client can send any callback data,
and a card can be pressed again long after it was decided.
"""

from __future__ import annotations

import logging

from telegram import (
    CallbackQuery,
    Message,
    Update,
    User,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.context import Context, services_of
from bot.roles import Role, may, role_of
from bot.telegram_text import Line, Text, fit
from handlers.approval_cards import channel_name, parse_button
from handlers.common import command_args, reply
from handlers.registry import Command
from storage.models import Approval

log = logging.getLogger(__name__)

APPROVE_USAGE = (
    "Usage: /approve @channel (or the chat id /channels shows for a private one)\n"
    "Counts a pending channel's posts in digests. /channels lists the pending ones with "
    "Approve and Leave buttons."
)


async def button(update: Update, context: Context) -> None:
    """A press on Approve or Leave: moderators only, stale or foreign buttons answered."""
    query = update.callback_query
    if query is None:
        return
    parsed = parse_button(query.data)
    if parsed is None:
        await _answer(query, "This button is not one of mine. /channels lists pending channels.")
        return
    services = services_of(context)
    role = await role_of(services, query.from_user.id)
    if not may(role, Role.MODERATOR):
        log.info("refused channel button to user %s (%s)", query.from_user.id, role)
        await _answer(
            query, f"Only moderators may approve or leave channels. Your role: {role.label}.", True
        )
        return
    action, chat_id = parsed
    text, note = await _decide(context, action, chat_id, query.from_user)
    await _answer(query, note)
    # A card older than 48 hours is inaccessible to the bot: the answer has to do.
    message = query.message
    if text is not None and isinstance(message, Message) and message.is_accessible:
        try:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML)
        except BadRequest as exc:  # the card is gone or already says so
            log.info("could not edit the card of channel %s: %s", chat_id, exc)


async def _answer(query: CallbackQuery, text: str, alert: bool = False) -> None:
    """Answer a press; one replayed after a restart may be too old to answer, which must
    not stop the card from being edited."""
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as exc:
        log.info("could not answer a button press: %s", exc)


async def _decide(
    context: Context, action: str, chat_id: int, user: User
) -> tuple[str | None, str]:
    """(the card's new HTML text or None, the short answer to the press)."""
    services = services_of(context)
    channel = await services.channels.find(str(chat_id))
    approval: Approval = "approved" if action == "approve" else "rejected"
    decision = await services.channels.approvals.decide(
        chat_id, approval, user.id, services.clock()
    )
    if channel is None or decision is None:
        return None, f"I know no channel {chat_id}. /channels lists the channels I know."
    who: Line = (
        [Text(user.full_name), f" ({user.id})"]
        if decision.changed
        else [f"user {decision.decided_by}"]
    )
    if approval == "approved":
        text = fit([*channel_name(channel), " approved by ", *who, ": its posts count in digests."])
        return text, "Approved." if decision.changed else "It was already approved."
    left = await _leave(context, chat_id)
    text = fit(
        [
            *channel_name(channel),
            " rejected by ",
            *who,
            f": {left} Its {channel.post_count} stored posts stay stored, left out of digests "
            "and counts. /approve undoes it.",
        ]
    )
    return text, "I left the channel." if decision.changed else "It was already rejected."


async def _leave(context: Context, chat_id: int) -> str:
    try:
        await context.bot.leave_chat(chat_id)
    except TelegramError as exc:  # already removed from it, or Telegram is down
        log.info("could not leave channel %s: %s", chat_id, exc)
        return "I could not leave it (am I still in it?)."
    return "I left it."


async def approve(update: Update, context: Context) -> None:
    args = command_args(update, 1)
    if not args:
        await reply(update, APPROVE_USAGE)
        return
    services = services_of(context)
    channel = await services.channels.find(args[0])
    user = update.effective_user
    if channel is None or user is None:
        await reply(update, ["I store no channel ", Text(args[0]), "."], "", APPROVE_USAGE)
        return
    text, _note = await _decide(context, "approve", channel.chat_id, user)
    await reply(update, text or APPROVE_USAGE)


COMMANDS = [
    Command(
        ("approve",),
        approve,
        Role.MODERATOR,
        "/approve @channel",
        "count a pending (or rejected) channel's posts in digests",
    ),
]
