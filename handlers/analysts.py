"""Analyst commands: /search."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import Context, services_of
from bot.links import post_link
from bot.roles import Role
from bot.search import search_posts
from bot.search_query import SearchInputError, SearchTooLongError
from bot.telegram_text import Line, Piece, Text
from handlers.common import command_args, reply, reply_chunks
from handlers.registry import Command
from storage.models import SearchHit
from storage.search import HIGHLIGHT_END, HIGHLIGHT_START

SEARCH_HELP = (
    "How to write a search:\n"
    "• words, found in every form: <code>киевский режим</code> finds «киевского режима»\n"
    '• exact forms, or a phrase, in double quotes: <code>"жест доброй воли"</code>\n'
    "• OR, NOT (in capitals): <code>отступление OR перегруппировка</code>\n"
    "• a prefix: <code>перегруппиров*</code>\n"
    "• filters: <code>channel:@name</code> <code>framing:slug</code> "
    "<code>since:2024-05-01</code> <code>until:2024-05-31</code> <code>watchdog:no</code>"
)


def format_hit(hit: SearchHit, tz: ZoneInfo) -> list[Line]:
    """Three lines: when and where, the snippet with the matched words in bold, the link."""
    name = f"@{hit.channel_username}" if hit.channel_username else hit.channel_title
    watchdog = " (watchdog)" if hit.watchdog else ""
    link = post_link(hit.chat_id, hit.channel_username, hit.message_id)
    framings: list[Piece] = [" · ", Text(", ".join(hit.framings))] if hit.framings else []
    return [
        [f"• {hit.posted_at.astimezone(tz):%Y-%m-%d %H:%M} · ", Text(name), watchdog, *framings],
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
        result = await search_posts(services.search, query, services.settings.zone)
    except SearchTooLongError as exc:
        await reply(update, f"That search is {exc}: shorten it.")
        return
    except SearchInputError as exc:
        await reply(
            update,
            ["I could not read the search “", Text(query[:200]), "”: ", Text(str(exc))],
            "",
            SEARCH_HELP,
        )
        return
    lines: list[Line] = []
    if not result.hits:
        lines.append(["No stored post matches “", Text(query[:200]), "”."])
    else:
        lines.append([f"<b>Best {len(result.hits)} posts for</b> “", Text(query[:200]), "”"])
    tz = services.settings.zone
    for hit in result.hits:
        lines += format_hit(hit, tz)
    if result.progress is not None:
        done = result.progress.stored - result.progress.queued
        lines.append(
            [
                f"<i>Word forms are indexed for {done} of {result.progress.stored} posts; "
                "the others are found by the exact forms of the words for now.</i>"
            ]
        )
    await reply_chunks(update, lines)


COMMANDS = [
    Command(
        ("search",),
        search,
        Role.ANALYST,
        "/search &lt;query&gt;",
        "search stored posts in every word form, e.g. /search киевский режим since:2024-05-01",
    ),
]
