"""/settings: each chat's own daily digest (framings, time and zone, compact or full form).

Anyone in a chat may change its settings, as anyone may /subscribe it. Buttons are hostile
input: a client can send any callback data on any message of the bot. A press is honoured
only on a settings card the bot can still see, and only for the chat the card is in;
anything else is answered and changes nothing.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest

from bot.context import Context, Services, services_of
from bot.roles import Role
from bot.settings_card import (
    CARD_TITLE,
    Button,
    card_text,
    hours_keyboard,
    keyboard,
    parse_button,
)
from bot.subscriber_settings import (
    parse_framings,
    parse_switch,
    parse_time,
    parse_zone,
    schedule_of,
    toggled,
)
from bot.telegram_text import Text
from handlers.common import command_args, reply
from handlers.registry import Command
from storage.subscriber_settings import SubscriberSettingsRepository

log = logging.getLogger(__name__)

USAGE = (
    "Usage: /settings shows this chat's digest settings with buttons, or:\n"
    "/settings time 08:30 — when the daily digest comes (HH:MM; default: the bot's)\n"
    "/settings tz Europe/Kyiv — your time zone, an IANA name (default: the bot's)\n"
    "/settings framings all|slug1,slug2 — which framings it covers (the buttons name them)\n"
    "/settings compact on|off — one short message, or the full digest"
)
_DEFAULT = "default"


class SettingError(Exception):
    """User input that cannot be applied; its message says what to do."""


async def settings_command(update: Update, context: Context) -> None:
    chat = update.effective_chat
    assert chat is not None
    args = command_args(update, 2)
    if not args:
        await _send_card(context, chat.id)
        return
    name, value = args[0].lower(), (args[1].strip() if len(args) > 1 else "")
    user = update.effective_user
    try:
        note = await _apply(services_of(context), chat.id, name, value, user.id if user else None)
    except SettingError as exc:
        await reply(update, [Text(str(exc))], "", USAGE)
        return
    await _send_card(context, chat.id, note)


async def _apply(services: Services, chat_id: int, name: str, value: str, actor: int | None) -> str:
    """Validate and store one setting; SettingError (nothing stored) on bad input."""
    repo = SubscriberSettingsRepository(services.db)
    now = services.clock()
    if not value:
        raise SettingError(f"/settings {name[:30]} needs a value.")
    if name == "time":
        parsed = None if value.lower() == _DEFAULT else parse_time(value)
        if parsed is None and value.lower() != _DEFAULT:
            raise SettingError(f"“{value[:40]}” is not a time: give HH:MM, e.g. 08:30.")
        await repo.set_value(chat_id, "time", parsed, actor, now)
        return f"Saved: the digest time is {parsed or 'the bot’s'}."
    if name in ("tz", "timezone", "zone"):
        zone = None if value.lower() == _DEFAULT else parse_zone(value)
        if zone is None and value.lower() != _DEFAULT:
            raise SettingError(
                f"“{value[:64]}” is not a time zone I know: give an IANA name such as "
                "Europe/Kyiv, America/New_York or UTC."
            )
        await repo.set_value(chat_id, "tz", zone, actor, now)
        return f"Saved: the time zone is {zone or 'the bot’s'}."
    if name == "compact":
        compact = parse_switch(value)
        if compact is None:
            raise SettingError(
                f"“{value[:40]}”: say /settings compact on or /settings compact off."
            )
        await repo.set_value(chat_id, "compact", compact, actor, now)
        return f"Saved: the {'compact' if compact else 'full'} form."
    if name == "framings":
        return await _apply_framings(services, repo, chat_id, value, actor)
    raise SettingError(f"I know no setting “{name[:30]}”.")


async def _apply_framings(
    services: Services,
    repo: SubscriberSettingsRepository,
    chat_id: int,
    value: str,
    actor: int | None,
) -> str:
    names = await services.framings.names()
    known = {slug: fid for fid, (slug, _title) in names.items()}
    chosen, unknown = parse_framings(value, known)
    if unknown:
        shown = ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else "")
        slugs = sorted(known)
        listed = (", ".join(slugs[:30]) + (" …" if len(slugs) > 30 else "")) or "none yet"
        raise SettingError(
            f"I know no framing {shown[:300]}; nothing changed. The framings: {listed}."
        )
    if chosen is not None and not chosen:
        raise SettingError("Name at least one framing, or all.")
    if chosen is not None and len(chosen) == len(known):
        chosen = None  # every framing named: the same as all, and later ones follow
    await repo.set_framings(chat_id, chosen, actor, services.clock())
    return "Saved: all framings." if chosen is None else f"Saved: {len(chosen)} framing(s)."


async def _card(
    services: Services, chat_id: int, note: str = "", page: int = 0, hours: bool = False
) -> tuple[str, InlineKeyboardMarkup]:
    """The chat's settings card and its keyboard (a page of framings, or the hours)."""
    prefs = await SubscriberSettingsRepository(services.db).get(chat_id)
    framings = await services.framings.names()
    subscribed = await services.subscribers.is_active(chat_id)
    schedule = schedule_of(prefs, services.settings)
    text = card_text(prefs, schedule, framings, subscribed, note)
    return text, hours_keyboard() if hours else keyboard(prefs, schedule, framings, page)


async def _send_card(context: Context, chat_id: int, note: str = "") -> None:
    text, markup = await _card(services_of(context), chat_id, note)
    await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)


# --- buttons ----------------------------------------------------------------------------


async def button(update: Update, context: Context) -> None:
    """A press on a settings card's button: applied to the card's chat, then redrawn."""
    query = update.callback_query
    if query is None:
        return
    parsed = parse_button(query.data)
    message = query.message
    if parsed is None:
        await _answer(query, "This button is not one of mine. /settings shows fresh buttons.")
        return
    if not isinstance(message, Message) or not message.is_accessible:
        await _answer(
            query, "This settings card is too old to change: send /settings for a new one."
        )
        return
    if message.chat.type == ChatType.CHANNEL or not (message.text or "").startswith(CARD_TITLE):
        await _answer(query, "This button does not belong to a settings card. Send /settings.")
        return
    services = services_of(context)
    chat_id = message.chat.id
    note, page, hours = await _press(services, chat_id, parsed, query.from_user.id)
    await _answer(query, note)
    text, markup = await _card(services, chat_id, page=page, hours=hours)
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:  # "message is not modified" after a press that changed nothing
        log.info("settings card of chat %s not redrawn: %s", chat_id, exc)


async def _press(
    services: Services, chat_id: int, pressed: Button, user: int
) -> tuple[str, int, bool]:
    """Apply a press: (the answer, the framings page to show, whether to show the hours)."""
    repo = SubscriberSettingsRepository(services.db)
    now = services.clock()
    if pressed.action == "t":
        return (
            "Pick an hour; for minutes or a time zone: /settings time 08:30, /settings tz NAME",
            0,
            True,
        )
    if pressed.action == "h":
        at = None if pressed.hour is None else f"{pressed.hour:02d}:00"
        await repo.set_value(chat_id, "time", at, user, now)
        return f"The digest comes at {at or 'the bot’s time'}.", 0, False
    if pressed.action == "p":
        return "", pressed.page, False
    prefs = await repo.get(chat_id)
    if pressed.action == "c":
        await repo.set_value(chat_id, "compact", not prefs.compact, user, now)
        return ("Full form." if prefs.compact else "Compact form."), pressed.page, False
    if pressed.action == "a":
        await repo.set_framings(chat_id, None, user, now)
        return "All framings.", pressed.page, False
    names = await services.framings.names()
    if pressed.framing_id not in names:
        return "That framing no longer exists: the card is redrawn.", pressed.page, False
    known = {slug: fid for fid, (slug, _title) in names.items()}
    current = None if prefs.framings is None else [known[s] for s in prefs.framings if s in known]
    selection = toggled(current, names, pressed.framing_id)
    if selection is not None and not selection:
        return "Keep at least one framing (All framings chooses every one).", pressed.page, False
    await repo.set_framings(chat_id, selection, user, now)
    slug = names[pressed.framing_id][0]
    chosen = selection is None or pressed.framing_id in selection
    return f"{slug}: {'on' if chosen else 'off'}.", pressed.page, False


async def _answer(query: CallbackQuery, text: str) -> None:
    """Answer a press (an empty answer just stops the button's spinner); one replayed
    after a restart may be too old to answer, which must not stop the card's redraw."""
    try:
        await query.answer(text[:200] or None)
    except BadRequest as exc:
        log.info("could not answer a settings button: %s", exc)


COMMANDS = [
    Command(
        ("settings",),
        settings_command,
        Role.EVERYONE,
        "/settings",
        "this chat's digest: framings, time and time zone, compact or full",
    ),
]
