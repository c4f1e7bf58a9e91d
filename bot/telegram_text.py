"""The one renderer of Telegram text (parse_mode=HTML): every reply and digest goes through it.

A line is a list of pieces: `str` is trusted markup written in this project, `Text` is
user text (titles, posts, terms, names), cleaned of control characters and escaped here.
A line too long for a message is shortened in its user text only (never in its markup,
so tags stay whole); messages are packed from whole lines, so each message is balanced
HTML, and none is empty. Lengths are counted as Telegram counts them: UTF-16 code units.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TypeAlias

from telegram.constants import MessageLimit

MAX_TEXT: int = MessageLimit.MAX_TEXT_LENGTH
MAX_CAPTION: int = MessageLimit.CAPTION_LENGTH
ELLIPSIS = "…"
NOTHING = "(nothing to show)"  # what a reply with no visible text says instead

# C0 controls except \t and \n, DEL, C1 controls, and lone surrogates (from bad JSON
# escapes; they cannot even be encoded to send). \r is turned into \n first.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_TAGS = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class Text:
    """User text in a line: cleaned and escaped when rendered, shortened if too long."""

    text: str
    cut_start: bool = False  # shorten from the start (context before a match)


Piece: TypeAlias = str | Text
Line: TypeAlias = Sequence[Piece]


def clean(text: str) -> str:
    """`text` without control characters (newlines and tabs kept) or lone surrogates."""
    if text.isprintable():  # the common case, checked in C
        return text
    text = _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _SURROGATE.sub("\ufffd", text)


def escape(text: str) -> str:
    """User text as HTML: cleaned, then <, >, & and quotes escaped."""
    return html.escape(clean(text))


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP is 2)."""
    # surrogatepass: a lone surrogate counts 1 instead of crashing (clean() replaces them).
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def render(lines: Iterable[Line | str], limit: int = MAX_TEXT) -> list[str]:
    """Messages of at most `limit` units made of whole lines; a `str` line is markup."""
    packer = Packer(limit)
    for line in lines:
        packer.add_line(fit([line] if isinstance(line, str) else line, limit))
    return packer.finish()


def fit(pieces: Line, limit: int = MAX_TEXT) -> str:
    """One line in at most `limit` units, shortening user text, never markup."""
    pieces = [clean(p) if isinstance(p, str) else Text(clean(p.text), p.cut_start) for p in pieces]
    line = "".join(p if isinstance(p, str) else html.escape(p.text) for p in pieces)
    if units(line) <= limit:
        return line
    texts = [p for p in pieces if isinstance(p, Text)]
    budget = limit - sum(units(p) for p in pieces if isinstance(p, str))
    cap = _water_level([units(html.escape(t.text)) for t in texts], budget)
    if cap < 1:
        # Even the markup alone is too long: drop the tags, which is always valid HTML.
        return _truncate(html.unescape(_TAGS.sub("", line)), limit)
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
    if units(escaped) <= max_units:
        return escaped
    if max_units < 1:
        return ""
    # Escape character by character (html.escape is per character) so the cut never
    # falls inside an entity like &amp;; Python characters never split a surrogate pair.
    kept: list[str] = []
    used = 1  # the "…"
    for char in reversed(text) if cut_start else text:
        piece = html.escape(char)
        used += units(piece)
        if used > max_units:
            break
        kept.append(piece)
    if cut_start:
        return ELLIPSIS + "".join(reversed(kept)).lstrip()
    return "".join(kept).rstrip() + ELLIPSIS


def visible(markup: str) -> str:
    """The text Telegram shows for our markup (tags dropped, entities decoded)."""
    return html.unescape(_TAGS.sub("", markup))


class Packer:
    """Packs lines into messages of at most `limit` units, splitting only between lines.

    Every line given must already fit the limit on its own (see `fit`). A message with no
    visible text is never produced: Telegram refuses it ("message text is empty").
    """

    def __init__(self, limit: int = MAX_TEXT) -> None:
        if limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
        self._limit = limit
        self._messages: list[str] = []
        self._lines: list[str] = []
        self._size = 0

    def add_line(self, line: str) -> None:
        if not self._try_append([line], gap=False):
            self._flush()
            self._try_append([line], gap=False)

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
        """The messages; at least one, so a reply always says something."""
        self._flush()
        return self._messages or [NOTHING]

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
        cost = sum(units(line) for line in lines) + len(lines) - (0 if self._lines else 1)
        if self._size + cost > self._limit:
            return False
        self._lines.extend(lines)
        self._size += cost
        return True

    def _flush(self) -> None:
        message = "\n".join(self._lines)
        if visible(message).strip():
            self._messages.append(message)
        self._lines, self._size = [], 0


def _joined_units(lines: Sequence[str]) -> int:
    return sum(units(line) for line in lines) + max(len(lines) - 1, 0)
