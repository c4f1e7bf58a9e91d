"""Rendering a Digest as Telegram messages (parse_mode=HTML) and as plain terminal text.

Every message fits Telegram's limit (counted in UTF-16 code units), splits only between
lines, repeats a framing's heading when its block continues, and escapes all user text.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from bot.digest import (
    RECURRING_MIN_DAYS,
    TELEGRAM_LIMIT,
    Digest,
    DigestPost,
    FramingSummary,
)
from bot.propagation_text import first_seen_line, push_line
from bot.telegram_text import Packer, Piece, Text, fit, units
from bot.trend_status import describe

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def render_digest(digest: Digest, tz: ZoneInfo, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Telegram messages (parse_mode=HTML), each at most `limit` UTF-16 code units.

    Messages split only between lines, so every message is balanced HTML. A framing
    stays in one message when it fits; otherwise it continues in the next one under its
    heading marked "(continued)".
    """
    period = _format_period(digest.period_start, digest.period_end, tz)
    packer = Packer(limit)
    title: list[Piece] = ["<b>FrameWatch digest</b>"]
    if digest.is_empty:
        empty = [
            [fit(["No framings were matched in posts from ", Text(period), "."], limit)],
            [fit(["Moderators add framings to watch with /watch."], limit)],
        ]
        packer.add_block(fit(title, limit), empty, fit([*title, " (continued)"], limit))
        return packer.finish()
    packer.add_block(fit([*title, " · ", Text(period)], limit), [], "")
    for framing in digest.framings:
        heading = _heading(framing)
        entries = [_post_lines(post, tz, limit) for post in framing.top_posts]
        entries[:0] = _propagation_lines(framing, tz, limit)
        more = framing.post_count - len(framing.top_posts)
        if more > 0:
            entries.append([fit([f"…and {_plural(more, 'more post')}"], limit)])
        entries += _quoted_lines(framing, tz, limit)
        packer.add_block(fit(heading, limit), entries, fit([*heading, " (continued)"], limit))
    return packer.finish()


# Kept free below the compact form's last line for the "…and N more" line; a framing's
# line is shortened (its title, never its link) to a fraction of a message.
_COMPACT_FOOTER_ROOM = 120
_COMPACT_LINE_MAX = 600


def render_compact(digest: Digest, tz: ZoneInfo, limit: int = TELEGRAM_LIMIT) -> str:
    """One message: per framing its counts, how it stands and its first link.

    The framings that do not fit are counted in a last line instead of a second message.
    """
    period = _format_period(digest.period_start, digest.period_end, tz)
    lines = [fit(["<b>FrameWatch digest</b> (compact) · ", Text(period)], limit)]
    if digest.is_empty:
        lines.append(fit(["No framings were matched in this period."], limit))
        return "\n".join(lines)
    size = units(lines[0])
    for index, framing in enumerate(digest.framings):
        line = fit(["• ", *_heading(framing), *_first_link(framing)], _COMPACT_LINE_MAX)
        room = limit if index == len(digest.framings) - 1 else limit - _COMPACT_FOOTER_ROOM
        if size + 1 + units(line) > room:
            more = len(digest.framings) - index
            lines.append(f"…and {_plural(more, 'more framing')}: /settings compact off lists all")
            break
        lines.append(line)
        size += 1 + units(line)
    return "\n".join(lines)


def _first_link(framing: FramingSummary) -> list[Piece]:
    """ " · t.me/echo/10": the first post the full form shows (a watchdog's if no other)."""
    posts = framing.top_posts or framing.quoted_posts
    if not posts:
        return []
    link = posts[0].link
    return [f' · <a href="{html.escape(link)}">{html.escape(link.removeprefix("https://"))}</a>']


def _quoted_lines(framing: FramingSummary, tz: ZoneInfo, limit: int) -> list[list[str]]:
    """Watchdog channels' posts quoting the framing: counted apart, the newest shown."""
    if not framing.quoted_count:
        return []
    intro = f"Quoted by watchdogs (not counted above): {_plural(framing.quoted_count, 'post')}"
    entries = [[fit([intro], limit)]]
    entries += [_post_lines(post, tz, limit) for post in framing.quoted_posts]
    return entries


def _propagation_lines(framing: FramingSummary, tz: ZoneInfo, limit: int) -> list[list[str]]:
    """Under the heading: "first seen in <channel> at 06:12 (link)", then each coordinated
    push (bot/propagation_text.py words them)."""
    lines = [first_seen_line(framing.first_seen, tz)] if framing.first_seen else []
    lines += [push_line(push) for push in framing.pushes]
    return [[fit(line, limit)] for line in lines]


def render_plain(messages: Sequence[str]) -> str:
    """The rendered messages for a terminal: no tags, entities decoded, links as URLs."""
    return "\n\n".join(_to_plain(message) for message in messages)


def _heading(framing: FramingSummary) -> list[Piece]:
    posts = _plural(framing.post_count, "post")
    channels = _plural(framing.channel_count, "channel")
    stats = f" — {posts} in {channels}" if framing.post_count else " — only quoted by watchdogs"
    if framing.recurring and framing.days_matched_last_7 >= RECURRING_MIN_DAYS:
        stats += f" · recurring: {framing.days_matched_last_7} of the last 7 days"
    elif framing.recurring:
        stats += " · recurring"
    if framing.trend is not None:
        stats += f" · {html.escape(describe(framing.trend))}"  # "p < 0.001" holds a "<"
    if framing.title == framing.slug:  # framings made by /watch have no title of their own
        return ["<b>", Text(framing.slug), "</b>", stats]
    return ["<b>", Text(framing.title), "</b> (", Text(framing.slug), ")", stats]


def _post_lines(post: DigestPost, tz: ZoneInfo, limit: int) -> list[str]:
    who: list[Piece] = ["• <i>", Text(post.channel_title), "</i>"]
    if post.channel_username:
        who += [" @", Text(post.channel_username)]
    who.append(f" · {post.local_time.astimezone(tz):%Y-%m-%d %H:%M}")
    quote: list[Piece] = ["  “", Text(post.before, cut_start=True)]
    if post.match:  # an empty <b></b> would be an empty entity
        quote += ["<b>", Text(post.match), "</b>"]
    quote += [Text(post.after), "”"]
    # The link is markup, never shortened: a cut link would be a wrong link.
    shown = html.escape(post.link.removeprefix("https://"))
    link = f'  <a href="{html.escape(post.link)}">{shown}</a>'
    return [fit(who, limit), fit(quote, limit), fit([link], limit)]


def _format_period(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    start, end = start.astimezone(tz), end.astimezone(tz)
    # Month names from a table, not %b, which depends on the host's locale.
    with_year = start.year != end.year

    def one(moment: datetime) -> str:
        year = f" {moment.year}" if with_year else ""
        return f"{moment.day} {_MONTHS[moment.month - 1]}{year} {moment:%H:%M}"

    return f"{one(start)} – {one(end)} ({tz.key})"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class _PlainText(HTMLParser):
    """Collects the visible text of our HTML, replacing each link by its URL."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._in_link = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") if tag == "a" else None
        if href:
            self.parts.append(href)
            self._in_link = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._in_link = False

    def handle_data(self, data: str) -> None:
        if not self._in_link:
            self.parts.append(data)


def _to_plain(markup: str) -> str:
    parser = _PlainText()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)
