"""/review: moderators mark matches correct, not this framing, or quoted to debunk it.

One card at a time, newest match first; each press stores the verdict (audited) and edits
the card in place to the next one, with a button to undo the verdict just given. A press
applies only if the match still has the verdict the card showed: a double press, a stale
card or a forged button changes nothing and is answered with what to do instead.
"""

from __future__ import annotations

import logging

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.context import Context, services_of
from bot.links import parse_post_link, post_link
from bot.reviews import (
    LABELS,
    Press,
    button_data,
    card_text,
    decided_note,
    done_text,
    parse_button,
    refusal_text,
)
from bot.roles import Role, may, role_of
from bot.telegram_text import Line, Text
from handlers.common import command_args, reply
from handlers.registry import Command
from storage.verdicts import VERDICTS, ReviewCard, Verdict, VerdictRepository

log = logging.getLogger(__name__)

REVIEW_USAGE = (
    "Usage: /review [&lt;framing&gt;] — the newest unreviewed matches, one card at a time.\n"
    "<code>/review &lt;post link&gt; [&lt;framing&gt;]</code> shows a post's match (reviewed "
    "or not) to give or change its verdict. Matches marked “not this framing” or “quoted to "
    "debunk it” leave digests, counts, trends and alerts."
)
_NO_PRESS = "This button is not one of mine or is out of date. /review shows the next card."


async def review(update: Update, context: Context) -> None:
    args = command_args(update, 2)
    services = services_of(context)
    repo = VerdictRepository(services.db)
    if args and parse_post_link(args[0]) is not None:
        await _review_post(update, context, repo, args)
        return
    if len(args) > 1:
        await reply(update, REVIEW_USAGE)
        return
    framing_id = None
    if args:
        framing_id = await repo.framing_id(args[0].strip().lower())
        if framing_id is None:
            await reply(
                update,
                ["There is no framing called ", Text(args[0][:70]), ". /framings lists them."],
            )
            return
    card = await repo.next_card(framing_id, None)
    if card is None:
        scope = f" of {args[0].strip().lower()}" if args else ""
        await reply(update, f"No unreviewed matches{scope}. Nothing to review now.")
        return
    await _send_card(update, context, card, framing_id is not None)


async def _review_post(
    update: Update, context: Context, repo: VerdictRepository, args: list[str]
) -> None:
    """/review <link> [framing]: the post's match, to give or change its verdict."""
    services = services_of(context)
    ref = parse_post_link(args[0])
    assert ref is not None
    chat_id = ref.chat_id
    if ref.username is not None:
        channel = await services.channels.find(ref.username)
        chat_id = channel.chat_id if channel else None
    post_id = await repo.post_id(chat_id, ref.message_id) if chat_id is not None else None
    if post_id is None:
        await reply(update, "I have not stored that post. /channels lists the channels I read.")
        return
    cards = await repo.cards_of_post(post_id)
    wanted = args[1].strip().lower() if len(args) > 1 else None
    chosen = [c for c in cards if wanted in (None, c.framing_slug)]
    if not chosen:
        which = f"framing {wanted}" if wanted else "any framing"
        await reply(update, f"That post matches no term of {which}; there is nothing to review.")
        return
    await _send_card(update, context, chosen[0], False)
    others = [c.framing_slug for c in cards if c is not chosen[0]]
    if others and wanted is None:
        link = post_link(chosen[0].chat_id, chosen[0].channel_username, chosen[0].message_id)
        await reply(
            update,
            [
                f"It also matches {', '.join(others)}: <code>/review ",
                Text(link),
                " &lt;framing&gt;</code>.",
            ],
        )


async def _send_card(update: Update, context: Context, card: ReviewCard, one: bool) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    await context.bot.send_message(
        chat.id,
        card_text(card, services_of(context).settings.zone),
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(card, one),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


def keyboard(
    card: ReviewCard | None, one: bool, undo: tuple[ReviewCard, Verdict | None] | None = None
) -> InlineKeyboardMarkup | None:
    """The verdict buttons of `card` (the current verdict marked), skip, and undo of the
    decision just made."""
    rows: list[list[InlineKeyboardButton]] = []
    if card is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    ("• " if card.verdict == v else "") + LABELS[v],
                    callback_data=button_data(v, card, card.verdict, one),
                )
                for v in VERDICTS
            ]
        )
        rows.append(
            [InlineKeyboardButton("skip", callback_data=button_data("skip", card, None, one))]
        )
    if undo is not None:
        last, verdict = undo
        data = button_data("undo", last, verdict, one)
        rows.append([InlineKeyboardButton("↩ undo / change the last verdict", callback_data=data)])
    return InlineKeyboardMarkup(rows) if rows else None


async def button(update: Update, context: Context) -> None:
    """A press on a review card: moderators only, checked against the stored verdict."""
    query = update.callback_query
    if query is None:
        return
    press = parse_button(query.data)
    if press is None:
        await _answer(query, _NO_PRESS)
        return
    services = services_of(context)
    role = await role_of(services, query.from_user.id)
    if not may(role, Role.MODERATOR):
        log.info("refused review button to user %s (%s)", query.from_user.id, role)
        await _answer(query, f"Only moderators may review matches. Your role: {role.label}.", True)
        return
    repo = VerdictRepository(services.db)
    if press.action == "skip":
        current = await repo.card(press.post_id, press.framing_id)
        await _answer(query, "Skipped; it comes back on the next /review.")
        await _show_next(query, context, repo, press, current, None)
        return
    await _decide(query, context, repo, press)


async def _decide(
    query: CallbackQuery, context: Context, repo: VerdictRepository, press: Press
) -> None:
    """Store (or take back) the verdict if the match still has the one the card showed."""
    services = services_of(context)
    decision = await repo.decide(
        press.post_id,
        press.framing_id,
        press.verdict,
        press.shown,
        query.from_user.id,
        services.clock(),
    )
    refusal = refusal_text(decision)
    if refusal is not None:
        await _answer(query, refusal, decision.outcome != "unchanged")
        return
    card = await repo.card(press.post_id, press.framing_id)
    zone = services.settings.zone
    if press.action == "undo":
        await _answer(query, "Verdict taken back: choose again.")
        if card is not None:
            await _edit(query, card_text(card, zone), keyboard(card, press.one_framing))
        return
    await _answer(query, f"Marked {LABELS[decision.verdict]}." if decision.verdict else "Done.")
    if press.shown is not None and card is not None:
        # A changed verdict (a card from /review <link> or an undo): the card stays, showing
        # the new verdict, its buttons still there to change it again.
        text = card_text(card, zone, decided_note(card, decision.verdict))
        await _edit(query, text, keyboard(card, press.one_framing))
        return
    await _show_next(query, context, repo, press, card, decision.verdict)


async def _show_next(
    query: CallbackQuery,
    context: Context,
    repo: VerdictRepository,
    press: Press,
    current: ReviewCard | None,
    verdict: Verdict | None,
) -> None:
    """Edit the card into the next unreviewed match older than `current`."""
    scope = press.framing_id if press.one_framing else None
    following = await repo.next_card(scope, current.cursor if current else None)
    note: Line | None = decided_note(current, verdict) if current and verdict else None
    undo = (current, verdict) if current and verdict else None
    if following is None:
        slug = await repo.framing_slug(press.framing_id) if press.one_framing else None
        await _edit(query, done_text(note, slug), keyboard(None, press.one_framing, undo))
        return
    zone = services_of(context).settings.zone
    await _edit(
        query, card_text(following, zone, note), keyboard(following, press.one_framing, undo)
    )


async def _edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    # A card older than 48 hours is inaccessible to the bot: the answer has to do.
    message = query.message
    if not (isinstance(message, Message) and message.is_accessible):
        return
    try:
        await query.edit_message_text(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
    except BadRequest as exc:  # the card is gone or already says so
        log.info("could not edit a review card: %s", exc)


async def _answer(query: CallbackQuery, text: str, alert: bool = False) -> None:
    """Answer a press; one replayed after a restart may be too old to answer."""
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as exc:
        log.info("could not answer a review button: %s", exc)


COMMANDS = [
    Command(
        ("review",),
        review,
        Role.MODERATOR,
        "/review [&lt;framing&gt; | &lt;post link&gt;]",
        "mark the newest matches correct, not this framing, or quoted to debunk it",
    ),
]
