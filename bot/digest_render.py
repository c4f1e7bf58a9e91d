"""Rendering a Digest as Telegram messages (parse_mode=HTML) and as plain terminal text.

Every message fits Telegram's limit (counted in UTF-16 code units), splits only between
lines, repeats a framing's heading when its block continues, and escapes all user text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from itertools import chain
from typing import TypeAlias
from zoneinfo import ZoneInfo

from bot.digest import (
    ELLIPSIS,
    RECURRING_MIN_DAYS,
    TELEGRAM_LIMIT,
    Digest,
    DigestPost,
    FramingSummary,
)
from bot.trend_status import describe

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class _Text:
    """User text in a line: escaped when rendered, and the part shortened if too long."""

    text: str
    cut_start: bool = False  # shorten from the start (context before a match)


# A line is a list of pieces: `str` is trusted markup, `_Text` is user text.
_Piece: TypeAlias = str | _Text


def render_digest(digest: Digest, tz: ZoneInfo, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Telegram messages (parse_mode=HTML), each at most `limit` UTF-16 code units.

    Messages split only between lines, so every message is balanced HTML. A framing
    stays in one message when it fits; otherwise it continues in the next one under its
    heading marked "(continued)".
    """
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    period = _format_period(digest.period_start, digest.period_end, tz)
    packer = _Packer(limit)
    title: list[_Piece] = ["<b>FrameWatch digest</b>"]
    if digest.is_empty:
        empty = [
            [_fit([f"No framings were matched in posts from {html.escape(period)}."], limit)],
            [_fit(["Moderators add framings to watch with /watch."], limit)],
        ]
        packer.add_block(_fit(title, limit), empty, _fit([*title, " (continued)"], limit))
        return packer.finish()
    packer.add_block(_fit([*title, " · ", _Text(period)], limit), [], "")
    for framing in digest.framings:
        heading = _heading(framing)
        entries = [[_fit([_Text(note)], limit)] for note in framing.notes]
        entries += [_post_lines(post, tz, limit) for post in framing.top_posts]
        more = framing.post_count - len(framing.top_posts)
        if more > 0:
            entries.append([_fit([f"…and {_plural(more, 'more post')}"], limit)])
        entries += _quoted_lines(framing, tz, limit)
        packer.add_block(_fit(heading, limit), entries, _fit([*heading, " (continued)"], limit))
    return packer.finish()


def _quoted_lines(framing: FramingSummary, tz: ZoneInfo, limit: int) -> list[list[str]]:
    """Watchdog channels' posts quoting the framing: counted apart, the newest shown."""
    if not framing.quoted_count:
        return []
    intro = f"Quoted by watchdogs (not counted above): {_plural(framing.quoted_count, 'post')}"
    entries = [[_fit([intro], limit)]]
    entries += [_post_lines(post, tz, limit) for post in framing.quoted_posts]
    return entries


def render_plain(messages: Sequence[str]) -> str:
    """The rendered messages for a terminal: no tags, entities decoded, links as URLs."""
    return "\n\n".join(_to_plain(message) for message in messages)


def _heading(framing: FramingSummary) -> list[_Piece]:
    posts = _plural(framing.post_count, "post")
    channels = _plural(framing.channel_count, "channel")
    stats = f" — {posts} in {channels}" if framing.post_count else " — only quoted by watchdogs"
    if framing.recurring and framing.days_matched_last_7 >= RECURRING_MIN_DAYS:
        stats += f" · recurring: {framing.days_matched_last_7} of the last 7 days"
    elif framing.recurring:
        stats += " · recurring"
    if framing.trend is not None:
        stats += f" · {describe(framing.trend)}"
    if framing.title == framing.slug:  # framings made by /watch have no title of their own
        return ["<b>", _Text(framing.slug), "</b>", stats]
    return ["<b>", _Text(framing.title), "</b> (", _Text(framing.slug), ")", stats]


def _post_lines(post: DigestPost, tz: ZoneInfo, limit: int) -> list[str]:
    who: list[_Piece] = ["• <i>", _Text(post.channel_title), "</i>"]
    if post.channel_username:
        who += [" @", _Text(post.channel_username)]
    who.append(f" · {post.local_time.astimezone(tz):%Y-%m-%d %H:%M}")
    quote: list[_Piece] = ["  “", _Text(post.before, cut_start=True)]
    if post.match:  # an empty <b></b> would be an empty entity
        quote += ["<b>", _Text(post.match), "</b>"]
    quote += [_Text(post.after), "”"]
    # The link is markup, never shortened: a cut link would be a wrong link.
    shown = html.escape(post.link.removeprefix("https://"))
    link = f'  <a href="{html.escape(post.link)}">{shown}</a>'
    return [_fit(who, limit), _fit(quote, limit), _fit([link], limit)]


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


# --- fitting lines and messages ---------------------------------------------------------


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP is 2)."""
    # surrogatepass: a lone surrogate (from a bad JSON escape) counts 1 instead of crashing.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _fit(pieces: Sequence[_Piece], limit: int) -> str:
    """Render one line in at most `limit` units, shortening user text, never markup."""
    line = "".join(p if isinstance(p, str) else html.escape(p.text) for p in pieces)
    if _units(line) <= limit:
        return line
    texts = [p for p in pieces if isinstance(p, _Text)]
    budget = limit - sum(_units(p) for p in pieces if isinstance(p, str))
    cap = _water_level([_units(html.escape(t.text)) for t in texts], budget)
    if cap < 1:
        # Even the markup alone is too long: drop the tags, which is always valid HTML.
        return _truncate(_to_plain(line), limit)
    return "".join(p if isinstance(p, str) else _truncate(p.text, cap, p.cut_start) for p in pieces)


def _water_level(lengths: Sequence[int], budget: int) -> int:
    """The largest cap with sum(min(length, cap)) <= budget; -1 if there is none >= 0.

    Shortening only the texts longer than the cap keeps short ones (a channel title)
    whole and takes the room from the long one (an absurd snippet).
    """
    if budget < 0 or not lengths:
        return -1
    low, high = 0, max(lengths)
    while low < high:
        middle = (low + high + 1) // 2
        if sum(min(length, middle) for length in lengths) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def _truncate(text: str, max_units: int, cut_start: bool = False) -> str:
    """`text` escaped, shortened with "…" to at most `max_units` units."""
    escaped = html.escape(text)
    if _units(escaped) <= max_units:
        return escaped
    if max_units < 1:
        return ""
    # Escape character by character (html.escape is per character) so the cut never
    # falls inside an entity like &amp;; Python characters never split a surrogate pair.
    kept: list[str] = []
    used = 1  # the "…"
    for char in reversed(text) if cut_start else text:
        piece = html.escape(char)
        used += _units(piece)
        if used > max_units:
            break
        kept.append(piece)
    if cut_start:
        return ELLIPSIS + "".join(reversed(kept)).lstrip()
    return "".join(kept).rstrip() + ELLIPSIS


class _Packer:
    """Packs lines into messages of at most `limit` units, splitting only between lines.

    Every line given must already fit the limit on its own (see `_fit`).
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._messages: list[str] = []
        self._lines: list[str] = []
        self._size = 0

    def add_block(self, heading: str, entries: Sequence[Sequence[str]], continued: str) -> None:
        """A heading and its entries (lines kept together when they fit, e.g. one post)."""
        whole = [heading, *chain.from_iterable(entries)]
        if self._try_append(whole, gap=True):
            return
        if self._lines and _joined_units(whole) <= self._limit:
            self._flush()  # the block fits a message of its own: don't break it
            self._try_append(whole, gap=False)
            return
        for index, entry in enumerate(entries):
            head = [heading] if index == 0 else []
            if self._try_append([*head, *entry], gap=index == 0):
                continue
            self._flush()
            self._add_lines([heading if index == 0 else continued, *entry], continued)

    def finish(self) -> list[str]:
        self._flush()
        return self._messages

    def _add_lines(self, lines: Iterable[str], continued: str) -> None:
        # Last resort for an entry longer than a message: split it line by line,
        # re-opening each new message with the continued heading when it fits.
        for line in lines:
            if self._try_append([line], gap=False):
                continue
            self._flush()
            if line == continued or not self._try_append([continued, line], gap=False):
                self._try_append([line], gap=False)

    def _try_append(self, lines: Sequence[str], gap: bool) -> bool:
        # `gap`: a blank line before a new block, except at the top of a message.
        if gap and self._lines:
            lines = ["", *lines]
        # "\n" before every line, except the first line of a message.
        cost = sum(_units(line) for line in lines) + len(lines) - (0 if self._lines else 1)
        if self._size + cost > self._limit:
            return False
        self._lines.extend(lines)
        self._size += cost
        return True

    def _flush(self) -> None:
        if self._lines:
            self._messages.append("\n".join(self._lines))
        self._lines, self._size = [], 0


def _joined_units(lines: Sequence[str]) -> int:
    return sum(_units(line) for line in lines) + max(len(lines) - 1, 0)


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
