"""/propagation <framing> [days]: how a framing spread (analysts)."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from telegram import Update

from bot.context import Context, services_of
from bot.propagation_report import load, window_of
from bot.propagation_text import report
from bot.roles import Role
from handlers.common import command_args, reply, reply_chunks
from handlers.registry import Command
from storage.neardup import NearDupRepository
from storage.propagation import PropagationRepository

DEFAULT_DAYS = 7
MAX_DAYS = 90
USAGE = (
    "Usage: /propagation &lt;framing&gt; [days]\n"
    f"How a framing spread over the last days ({DEFAULT_DAYS} unless given, at most "
    f"{MAX_DAYS}): where it was first seen, which channels carried it and how fast, and "
    "coordinated pushes of near-identical text. /framings lists the framings."
)


async def propagation(update: Update, context: Context) -> None:
    services = services_of(context)
    args = command_args(update, 2)
    if not args:
        await reply(update, USAGE)
        return
    slug = args[0]
    days = _days(args[1] if len(args) > 1 else None)
    if days is None:
        await reply(update, f"“{escape(args[1][:50])}” is not a number of days.\n\n{USAGE}")
        return
    if not await services.framings.exists(slug):
        await reply(update, f"No framing is called “{escape(slug[:100])}”. /framings lists them.")
        return
    now = services.clock()
    found = await load(
        PropagationRepository(services.db),
        NearDupRepository(services.db),
        slug,
        now - timedelta(days=days),
        now,
        window_of(services.settings.coordination_window),
    )
    if not found:
        await reply(update, f"No post matched {escape(slug)} in the last {days} days.")
        return
    await reply_chunks(update, report(found[0], services.settings.zone, days))


def _days(text: str | None) -> int | None:
    if text is None:
        return DEFAULT_DAYS
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        return None
    return int(text)


COMMANDS = [
    Command(
        ("propagation",),
        propagation,
        Role.ANALYST,
        "/propagation &lt;framing&gt; [days]",
        "where a framing was first seen, who amplified it, coordinated pushes",
    ),
]
