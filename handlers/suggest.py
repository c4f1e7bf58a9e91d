"""/suggest <framing>: NOT-terms and new terms learnt from the verdicts (bot.suggest), with a
button that adds a suggested term the way /watch does."""

from __future__ import annotations

import asyncio
import logging
import re

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.context import Context, services_of
from bot.framings import FramingError, add_term, check_new_term
from bot.links import post_link
from bot.roles import Role, may, role_of
from bot.suggest import Doc, suggest
from bot.suggest_text import suggestion_lines
from bot.telegram_text import Text, render
from handlers.common import command_args, reply
from handlers.registry import Command
from storage.verdicts import LabelledPost, VerdictRepository

log = logging.getLogger(__name__)

SUGGEST_USAGE = (
    "Usage: /suggest &lt;framing&gt; — NOT-terms and new terms learnt from the verdicts "
    "given with /review, each with its z-score and an example post."
)
NEWEST_POSTS = 2000  # stored posts read as the background the framing does not match
MAX_DATA = 64  # bytes of callback data Telegram allows
_BUTTON = re.compile(r"sg:([1-9][0-9]{0,17}):([^\n]{1,60})")


async def suggest_command(update: Update, context: Context) -> None:
    args = command_args(update, 2)
    if len(args) != 1:
        await reply(update, SUGGEST_USAGE)
        return
    services = services_of(context)
    repo = VerdictRepository(services.db)
    slug = args[0].strip().lower()
    framing_id = await repo.framing_id(slug)
    if framing_id is None:
        await reply(
            update, ["There is no framing called ", Text(args[0][:70]), ". /framings lists them."]
        )
        return
    posts = await repo.labelled_posts(framing_id, NEWEST_POSTS)
    wrong = [_doc(p) for p in posts if p.verdict in ("wrong_framing", "debunk")]
    correct = [_doc(p) for p in posts if p.verdict == "correct"]
    unmatched = [_doc(p) for p in posts if not p.matched and p.verdict is None]
    terms = [t.text for t in await services.framings.all_terms() if t.framing_id == framing_id]
    # Lemmatising thousands of posts takes a second or more: off the event loop.
    found = await asyncio.to_thread(suggest, wrong, correct, unmatched, terms)
    lines = suggestion_lines(slug, found, len(correct), len(wrong), len(unmatched), NEWEST_POSTS)
    buttons = [
        [InlineKeyboardButton(f"+ {s.phrase}", callback_data=data)]
        for s in found.new_terms
        if len((data := f"sg:{framing_id}:{s.phrase}").encode()) <= MAX_DATA
    ]
    await _send(update, render(lines), InlineKeyboardMarkup(buttons) if buttons else None)


async def _send(update: Update, messages: list[str], markup: InlineKeyboardMarkup | None) -> None:
    """The messages, the buttons under the last one."""
    chat = update.effective_chat
    if chat is None:
        return
    for number, message in enumerate(messages, 1):
        await chat.send_message(
            message,
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            reply_markup=markup if number == len(messages) else None,
        )


def _doc(post: LabelledPost) -> Doc:
    return Doc(post.text, post_link(post.chat_id, post.channel_username, post.message_id))


async def button(update: Update, context: Context) -> None:
    """A press on "+ phrase": moderators only; the term is checked as /watch checks it."""
    query = update.callback_query
    if query is None:
        return
    found = _BUTTON.fullmatch(query.data) if isinstance(query.data, str) else None
    if found is None:
        await _answer(
            query, "This button is not one of mine. /suggest <framing> lists suggestions."
        )
        return
    services = services_of(context)
    role = await role_of(services, query.from_user.id)
    if not may(role, Role.MODERATOR):
        log.info("refused suggest button to user %s (%s)", query.from_user.id, role)
        await _answer(query, f"Only moderators may add terms. Your role: {role.label}.", True)
        return
    slug = await VerdictRepository(services.db).framing_slug(int(found[1]))
    try:
        term = check_new_term(found[2])
    except FramingError:
        term = None
    if slug is None or term is None:
        await _answer(query, "That framing or suggestion is gone. /suggest <framing> again.", True)
        return
    user_id = query.from_user.id
    line = await add_term(services.framings, slug, term, user_id, services.clock(), "/suggest")
    await _answer(query, "Done: see the message below.")
    message = query.message
    if message is not None:
        for text in render([line]):
            await context.bot.send_message(message.chat.id, text, parse_mode=ParseMode.HTML)


async def _answer(query: CallbackQuery, text: str, alert: bool = False) -> None:
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as exc:
        log.info("could not answer a suggest button: %s", exc)


COMMANDS = [
    Command(
        ("suggest",),
        suggest_command,
        Role.MODERATOR,
        "/suggest &lt;framing&gt;",
        "NOT-terms and new terms learnt from the verdicts, with buttons to add them",
    ),
]
