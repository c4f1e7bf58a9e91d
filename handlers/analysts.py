"""Analyst commands: /search."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import Context, services_of
from bot.links import post_link
from bot.roles import Role
from bot.telegram_text import Line, Piece, Text
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


def format_hit(hit: SearchHit, tz: ZoneInfo) -> list[Line]:
    """Three lines: when and where, the snippet with the matched words in bold, the link."""
    name = f"@{hit.channel_username}" if hit.channel_username else hit.channel_title
    watchdog = " (watchdog)" if hit.watchdog else ""
    link = post_link(hit.chat_id, hit.channel_username, hit.message_id)
    return [
        [f"• {hit.posted_at.astimezone(tz):%Y-%m-%d %H:%M} · ", Text(name), watchdog],
        ["  ", *highlighted(hit.snippet)],
        ["  ", Text(link)],
    ]


def highlighted(snippet: str) -> list[Piece]:
    """The snippet as user text, with the words between the highlight markers in bold.

    Markers toggle a state rather than being replaced by tags, so a post containing a
    stray marker character cannot leave a <b> unclosed.
    """
    pieces: list[Piece] = []
    bold = False
    for part in re.split(f"([{HIGHLIGHT_START}{HIGHLIGHT_END}])", snippet):
        if part in (HIGHLIGHT_START, HIGHLIGHT_END):
            bold = part == HIGHLIGHT_START
        elif part:
            pieces += ["<b>", Text(part), "</b>"] if bold else [Text(part)]
    return pieces


async def search(update: Update, context: Context) -> None:
    services = services_of(context)
    args = command_args(update, 1)
    if not args:
        await reply(update, "Usage: /search &lt;query&gt;", "", SEARCH_HELP)
        return
    query = args[0]
    try:
        hits = await services.search.search(query, limit=10)
    except QueryTooLongError as exc:
        await reply(update, f"That search is {exc}: shorten it.")
        return
    except QuerySyntaxError:
        await reply(
            update, ["I could not read the search “", Text(query[:200]), "”."], "", SEARCH_HELP
        )
        return
    if not hits:
        await reply(update, ["No stored post matches “", Text(query[:200]), "”."])
        return
    tz = services.settings.zone
    lines: list[Line] = [[f"<b>Best {len(hits)} posts for</b> “", Text(query[:200]), "”"]]
    for hit in hits:
        lines += format_hit(hit, tz)
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
