"""Analyst commands: /search."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import Context, services_of
from bot.links import post_link
from bot.roles import Role
from handlers.common import command_args, reply, reply_chunks
from handlers.registry import Command
from storage.models import SearchHit
from storage.search import HIGHLIGHT_END, HIGHLIGHT_START, QuerySyntaxError, QueryTooLongError

SEARCH_HELP = (
    "How to write a search:\n"
    "• words: <code>жест доброй воли</code> (all words, any order)\n"
    '• a phrase in double quotes: <code>"жест доброй воли"</code>\n'
    "• OR, NOT (in capitals): <code>отступление OR перегруппировка</code>\n"
    "• a prefix: <code>перегруппиров*</code>\n"
    'Quote words that contain punctuation, e.g. <code>"t.me"</code>.'
)


def format_hit(hit: SearchHit, tz: ZoneInfo) -> str:
    snippet = escape(hit.snippet).replace(HIGHLIGHT_START, "<b>").replace(HIGHLIGHT_END, "</b>")
    name = f"@{hit.channel_username}" if hit.channel_username else escape(hit.channel_title)
    if hit.watchdog:
        name += " (watchdog)"
    link = post_link(hit.chat_id, hit.channel_username, hit.message_id)
    return f"• {hit.posted_at.astimezone(tz):%Y-%m-%d %H:%M} · {name}\n  {snippet}\n  {link}"


async def search(update: Update, context: Context) -> None:
    services = services_of(context)
    args = command_args(update, 1)
    if not args:
        await reply(update, "Usage: /search &lt;query&gt;\n\n" + SEARCH_HELP)
        return
    query = args[0]
    try:
        hits = await services.search.search(query, limit=10)
    except QueryTooLongError as exc:
        await reply(update, f"That search is {exc}: shorten it.")
        return
    except QuerySyntaxError:
        await reply(
            update, f"I could not read the search “{escape(query[:200])}”.\n\n{SEARCH_HELP}"
        )
        return
    if not hits:
        await reply(update, f"No stored post matches “{escape(query[:200])}”.")
        return
    tz = services.settings.zone
    lines = [f"<b>Best {len(hits)} posts for</b> “{escape(query[:200])}”"]
    lines += [format_hit(h, tz) for h in hits]
    await reply_chunks(update, lines)


COMMANDS = [
    Command(
        ("search",),
        search,
        Role.ANALYST,
        "/search &lt;query&gt;",
        "full-text search of stored posts, e.g. /search жест доброй воли",
    ),
]
