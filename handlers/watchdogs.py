"""Watchdog channels: /watchdog and /unwatchdog (moderators).

A watchdog is a channel that quotes framings to debunk them, such as a fact-checker. Its
posts are stored and matched like any other; digests list them apart (bot.digest).
"""

from __future__ import annotations

from telegram import Update

from bot.context import Context, services_of
from bot.roles import Role
from bot.telegram_text import Piece, Text
from handlers.common import command_args, reply
from handlers.registry import Command

WATCHDOG_USAGE = (
    "Usage: /watchdog @channel (or the chat id /channels shows for a private one)\n"
    "Marks a channel that quotes framings to debunk them, such as a fact-checker: digests "
    "then list its matching posts apart instead of counting it as spreading the framing. "
    "/unwatchdog @channel undoes it."
)
UNWATCHDOG_USAGE = (
    "Usage: /unwatchdog @channel (or its chat id)\n"
    "Counts the channel's matching posts in digests again. /channels shows the watchdogs."
)


async def watchdog(update: Update, context: Context) -> None:
    await _set_watchdog(update, context, True)


async def unwatchdog(update: Update, context: Context) -> None:
    await _set_watchdog(update, context, False)


async def _set_watchdog(update: Update, context: Context, on: bool) -> None:
    usage = WATCHDOG_USAGE if on else UNWATCHDOG_USAGE
    args = command_args(update, 1)
    if not args:
        await reply(update, usage)
        return
    services = services_of(context)
    channel = await services.channels.find(args[0])
    if channel is None:
        await reply(
            update,
            [
                *("I store no channel ", Text(args[0]), ". /channels lists the ones I know; "),
                "add me to the channel, /follow @name, or forward me one of its posts first.",
            ],
            "",
            usage,
        )
        return
    user = update.effective_user
    changed = await services.channels.set_watchdog(
        channel.chat_id, on, user.id if user else None, services.clock()
    )
    shown = f"@{channel.username}" if channel.username else channel.title or ""
    name: list[Piece] = ["<b>", Text(shown), f"</b> ({channel.chat_id})"]
    if on and changed:
        text = (
            " is now a watchdog: digests list its posts that quote a framing apart, "
            "not counted as spreading it. Its stored posts and matches stay."
        )
    elif on:
        text = " is already a watchdog."
    elif changed:
        text = " is no longer a watchdog: its matching posts count in digests again."
    else:
        text = " was not a watchdog. /channels shows the watchdogs."
    await reply(update, [*name, text])


COMMANDS = [
    Command(
        ("watchdog",),
        watchdog,
        Role.MODERATOR,
        "/watchdog @channel",
        "a fact-checker: its posts quoting framings are listed apart in digests",
    ),
    Command(
        ("unwatchdog",),
        unwatchdog,
        Role.MODERATOR,
        "/unwatchdog @channel",
        "count that channel's posts again",
    ),
]
