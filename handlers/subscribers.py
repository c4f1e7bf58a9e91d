"""Commands for everyone: /subscribe, /unsubscribe, /digest (each chat's own /settings)."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from bot.context import Context, services_of
from bot.delivery import compose, send_html
from bot.roles import Role
from bot.subscriber_settings import schedule_of, view_of
from bot.telegram_text import escape
from handlers.common import reply
from handlers.registry import Command
from storage.subscriber_settings import SubscriberSettingsRepository


async def subscribe(update: Update, context: Context) -> None:
    services = services_of(context)
    chat = update.effective_chat
    assert chat is not None
    changed = await services.subscribers.subscribe(chat.id, services.clock())
    prefs = await SubscriberSettingsRepository(services.db).get(chat.id)
    when = escape(schedule_of(prefs, services.settings).label)
    if changed:
        await reply(
            update,
            f"Subscribed. The daily digest arrives here at {when}. "
            "/digest shows the last 24 hours now; /settings chooses the time, time zone, "
            "framings and form; /unsubscribe stops it.",
        )
    else:
        await reply(update, f"This chat is already subscribed; the digest arrives at {when}.")


async def unsubscribe(update: Update, context: Context) -> None:
    services = services_of(context)
    chat = update.effective_chat
    assert chat is not None
    if await services.subscribers.unsubscribe(chat.id, services.clock()):
        await reply(update, "Unsubscribed: no more daily digests. /subscribe turns it back on.")
    else:
        await reply(update, "This chat was not subscribed. /subscribe turns the daily digest on.")


async def digest_now(update: Update, context: Context) -> None:
    """The last 24 hours, now, as this chat's /settings show it; it is not recorded as
    (and does not replace) the daily one."""
    services = services_of(context)
    chat = update.effective_chat
    assert chat is not None
    now = services.clock()
    prefs = await SubscriberSettingsRepository(services.db).get(chat.id)
    view = view_of(prefs, services.settings)
    for message in await compose(services, now - timedelta(hours=24), now, view):
        await send_html(context.bot, chat.id, message)


COMMANDS = [
    Command(
        ("subscribe",), subscribe, Role.EVERYONE, "/subscribe", "get the daily digest in this chat"
    ),
    Command(("unsubscribe",), unsubscribe, Role.EVERYONE, "/unsubscribe", "stop the daily digest"),
    Command(
        ("digest",), digest_now, Role.EVERYONE, "/digest", "the digest of the last 24 hours, now"
    ),
]
