"""/channels: the watched channels, how they are read, and cards for pending ones."""

from __future__ import annotations

from telegram import Update

from bot.context import Context, services_of
from bot.roles import Role
from bot.sources.follow_text import follow_state
from bot.telegram_text import Line, Text
from handlers.approval_cards import list_pending
from handlers.common import reply, reply_chunks
from handlers.registry import Command


async def list_channels(update: Update, context: Context) -> None:
    services = services_of(context)
    channels = await services.channels.list_with_stats()
    follows = {f.chat_id: f for f in await services.follows.all()}
    if not channels:
        await reply(
            update,
            "No channels yet. Add the bot to a channel as an administrator, follow a public "
            "channel with /follow @name, or forward me a post from a channel.",
        )
        return
    tz = services.settings.zone
    lines: list[Line] = [[f"<b>{len(channels)} channels</b>"]]
    for c in channels:
        name = f"@{c.username}" if c.username else f"private {c.chat_id}"
        last = f"{c.last_post_at.astimezone(tz):%Y-%m-%d %H:%M}" if c.last_post_at else "never"
        state = "bot is admin" if c.is_member else "not a member (forwards only)"
        if c.chat_id in follows:
            followed = follow_state(follows[c.chat_id], tz)
            state = f"bot is admin · {followed}" if c.is_member else followed
        if c.watchdog:
            state += " · watchdog"
        if c.approval != "approved":
            state += f" · {_APPROVAL[c.approval]}"
        lines.append(
            [
                *("• <b>", Text(c.title or name), "</b> ", Text(name)),
                *(f" · {c.post_count} posts · last post {last} · ", Text(state)),
            ]
        )
    await reply_chunks(update, lines)
    await list_pending(update, context, channels)


_APPROVAL = {
    "pending": "pending approval: posts stored, not counted",
    "rejected": "rejected: posts stored, not counted",
}


COMMANDS = [
    Command(
        ("channels",),
        list_channels,
        Role.MODERATOR,
        "/channels",
        "watched channels, post counts, last post; Approve/Leave for pending ones",
    ),
]
