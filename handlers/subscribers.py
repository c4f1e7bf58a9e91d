"""Commands for everyone: /start, /help, /subscribe, /unsubscribe, /digest."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from telegram import Update

from bot.context import Context, services_of
from bot.delivery import compose, send_html
from bot.roles import Role, role_of
from handlers.common import reply

COMMANDS: dict[Role, list[tuple[str, str]]] = {
    Role.EVERYONE: [
        ("/help", "what FrameWatch does and your commands"),
        ("/subscribe", "get the daily digest in this chat"),
        ("/unsubscribe", "stop the daily digest"),
        ("/digest", "the digest of the last 24 hours, now"),
    ],
    Role.ANALYST: [
        (
            "/search &lt;query&gt;",
            "full-text search of stored posts, e.g. /search жест доброй воли",
        ),
    ],
    Role.MODERATOR: [
        ("/watch &lt;framing&gt; &lt;term&gt;", "add a term (creates the framing if new)"),
        ("/unwatch &lt;framing&gt; [&lt;term&gt;]", "remove a term, or the whole framing"),
        ("/framings [&lt;framing&gt;]", "framings, their terms and matched posts"),
        ("/channels", "watched channels, post counts, last post"),
        ("(forward a channel post)", "store it under its channel"),
    ],
    Role.ADMIN: [
        ("/grant &lt;user_id&gt; moderator|analyst", "give a role"),
        ("/revoke &lt;user_id&gt;", "take a role away"),
        ("/roles", "who has which role"),
    ],
}

INTRO = (
    "<b>FrameWatch</b> watches Telegram channels for recurring propaganda framings "
    "(for example a retreat called a “gesture of goodwill”), stores every post, and sends "
    "a daily digest of the framings found, with links to the source posts."
)


def help_text(user_id: int | None, role: Role, digest_time: str, zone: str) -> str:
    lines = [INTRO, "", f"Your Telegram id: <code>{user_id}</code> · role: <b>{role.label}</b>", ""]
    for level in Role:
        if level <= role and COMMANDS.get(level):
            lines.append(f"<b>{level.label.capitalize()} commands</b>")
            lines += [f"{cmd} — {what}" for cmd, what in COMMANDS[level]]
            lines.append("")
    lines.append(f"The daily digest goes out at {digest_time} ({escape(zone)}).")
    return "\n".join(lines)


async def start(update: Update, context: Context) -> None:
    services = services_of(context)
    user = update.effective_user
    role = await role_of(services, user.id if user else None)
    settings = services.settings
    await reply(
        update,
        help_text(
            user.id if user else None,
            role,
            settings.digest_time.strftime("%H:%M"),
            settings.timezone,
        ),
    )


async def subscribe(update: Update, context: Context) -> None:
    services = services_of(context)
    chat = update.effective_chat
    assert chat is not None
    changed = await services.subscribers.subscribe(chat.id, services.clock())
    when = f"{services.settings.digest_time:%H:%M} ({escape(services.settings.timezone)})"
    if changed:
        await reply(
            update,
            f"Subscribed. The daily digest arrives here at {when}. "
            "/digest shows the last 24 hours now; /unsubscribe stops it.",
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
    """The last 24 hours, now; it is not recorded as (and does not replace) the daily one."""
    services = services_of(context)
    chat = update.effective_chat
    assert chat is not None
    now = services.clock()
    for message in await compose(services, now - timedelta(hours=24), now):
        await send_html(context.bot, chat.id, message)
