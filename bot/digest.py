"""The subscriber digest: which framings were matched in a period, and where.

Pure code (no I/O, no clock): the scheduler passes the period, and the caller computes
the 7-day history (`recent_days`) from storage, so everything here is testable by value.

`build_digest` groups matches into a `Digest`; bot.digest_render turns it into Telegram
messages and terminal text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.links import post_link
from bot.telegram_text import ELLIPSIS, MAX_TEXT
from bot.trend_status import TrendStatus
from storage.models import DigestItem

if TYPE_CHECKING:
    from bot.propagation import Cluster, PropagationPost
    from bot.propagation_report import FramingPropagation

TELEGRAM_LIMIT = MAX_TEXT  # max message length, in UTF-16 code units
TOP_POSTS = 5  # posts shown per framing
QUOTED_POSTS = 2  # watchdog posts shown per framing
SNIPPET_MAX = 300  # characters of context shown around a match
RECURRING_MIN_DAYS = 2  # distinct local days with matches, within the last 7
RECURRING_MIN_POSTS = 3  # distinct posts in the period

# A sentence ends at a newline, or at . ! ? … followed by whitespace: requiring the
# whitespace keeps "t.me" and "3.5" inside their sentence, and a dot after a one-letter
# word is an initial or abbreviation ("U.S. officials", "J. Smith", "т.е."), not an end.
_BOUNDARY = re.compile(r"(?:(?<!\b\w)\.|[!?…])[.!?…]*(?=\s|$)|\n")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class DigestPost:
    """What the digest shows of one post: its channel, time, link and the matched sentence.

    The snippet is split in three so the renderer can bold the match and escape each part;
    `before` / `after` already start / end with "…" where the sentence was cut.
    """

    chat_id: int
    message_id: int
    channel_title: str
    channel_username: str | None  # without "@"; None for private channels
    link: str
    local_time: datetime  # aware, in the digest's time zone
    before: str
    match: str
    after: str


@dataclass(frozen=True, slots=True)
class FramingSummary:
    """One framing's matches in the period.

    Posts of watchdog channels (which quote a framing to debunk it) are not counted as
    spreading it: they are only counted and shown apart, as `quoted_*`.
    """

    slug: str
    title: str
    post_count: int  # distinct posts, watchdogs' left out
    channel_count: int  # distinct channels (chat_id), watchdogs left out
    recurring: bool
    days_matched_last_7: int
    top_posts: tuple[DigestPost, ...]  # most recent first, at most TOP_POSTS
    quoted_count: int = 0  # distinct posts of watchdog channels
    quoted_posts: tuple[DigestPost, ...] = ()  # most recent first, at most QUOTED_POSTS
    # Propagation (bot/propagation_report.py, attached by with_propagation): where it was
    # first seen, and its coordinated pushes (clusters with `push` set).
    first_seen: PropagationPost | None = None
    pushes: tuple[Cluster, ...] = ()
    trend: TrendStatus | None = None  # surging / usual / new (bot.trends); None: unknown


@dataclass(frozen=True, slots=True)
class Digest:
    period_start: datetime  # aware
    period_end: datetime  # aware
    framings: tuple[FramingSummary, ...]  # surging, recurring, then by post count, then slug

    @property
    def is_empty(self) -> bool:
        return not self.framings


def with_propagation(digest: Digest, spread: Sequence[FramingPropagation]) -> Digest:
    """The digest with each framing's first seen post and coordinated pushes."""
    by_slug = {found.framing: found for found in spread}
    framings = tuple(
        replace(f, first_seen=by_slug[f.slug].first, pushes=by_slug[f.slug].pushes)
        if f.slug in by_slug
        else f
        for f in digest.framings
    )
    return replace(digest, framings=framings)


# --- building ---------------------------------------------------------------------------


def build_digest(
    items: Sequence[DigestItem],
    recent_days: Mapping[str, int],
    period_start: datetime,
    period_end: datetime,
    tz: ZoneInfo,
    trends: Mapping[str, TrendStatus] | None = None,
) -> Digest:
    """Group the period's matches by framing.

    `items`: every match in the period (several per post and per framing are fine).
    `recent_days[slug]`: distinct local days with matches in the 7 days ending at
    period_end; a missing slug counts as 0. `trends[slug]`: how the framing stands.
    """
    by_slug: dict[str, list[DigestItem]] = {}
    for item in items:
        by_slug.setdefault(item.framing_slug, []).append(item)
    trends = trends or {}
    framings = [
        _summarise(slug, group, recent_days.get(slug, 0), tz, trends.get(slug))
        for slug, group in by_slug.items()
    ]
    framings.sort(key=_order)
    return Digest(_aware(period_start), _aware(period_end), tuple(framings))


def _order(f: FramingSummary) -> tuple[bool, bool, int, int, str]:
    surging = f.trend is not None and f.trend.state == "surging"
    return (not surging, not f.recurring, -f.post_count, -f.quoted_count, f.slug)


def _summarise(
    slug: str, group: list[DigestItem], days: int, tz: ZoneInfo, trend: TrendStatus | None
) -> FramingSummary:
    # A post can match one framing several times (several terms, repeated words): it
    # counts once, and is shown at its earliest match, which is where a reader starts.
    first: dict[tuple[int, int], DigestItem] = {}
    for item in group:
        key = (item.chat_id, item.message_id)
        if key not in first or item.match_start < first[key].match_start:
            first[key] = item
    newest_first = sorted(
        first.values(),
        key=lambda i: (_aware(i.posted_at), i.chat_id, i.message_id),
        reverse=True,
    )
    posts = [i for i in newest_first if not i.watchdog]
    quoted = [i for i in newest_first if i.watchdog]
    return FramingSummary(
        slug=slug,
        title=newest_first[0].framing_title,  # the newest title, in case it was renamed
        post_count=len(posts),
        channel_count=len({i.chat_id for i in posts}),
        recurring=bool(posts) and (days >= RECURRING_MIN_DAYS or len(posts) >= RECURRING_MIN_POSTS),
        days_matched_last_7=days,
        top_posts=tuple(_digest_post(i, tz) for i in posts[:TOP_POSTS]),
        quoted_count=len(quoted),
        quoted_posts=tuple(_digest_post(i, tz) for i in quoted[:QUOTED_POSTS]),
        trend=trend,
    )


def _digest_post(item: DigestItem, tz: ZoneInfo) -> DigestPost:
    before, match, after = _snippet(item.text, item.match_start, item.match_end)
    username = (item.channel_username or "").lstrip("@") or None
    return DigestPost(
        chat_id=item.chat_id,
        message_id=item.message_id,
        channel_title=item.channel_title,
        channel_username=username,
        link=post_link(item.chat_id, username, item.message_id),
        local_time=_aware(item.posted_at).astimezone(tz),
        before=before,
        match=match,
        after=after,
    )


def _aware(moment: datetime) -> datetime:
    # Storage promises UTC-aware datetimes; a naive one is read as UTC rather than as the
    # host's local time, which would make the output depend on the machine.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- snippets ---------------------------------------------------------------------------


def snippet(text: str, start: int, end: int) -> tuple[str, str, str]:
    """The digest's excerpt around a match, shared with the review cards (bot.reviews)."""
    return _snippet(text, start, end)


def _snippet(text: str, start: int, end: int) -> tuple[str, str, str]:
    """(before, match, after): the sentence around text[start:end], whitespace collapsed.

    At most about SNIPPET_MAX characters; where the sentence is cut, "…" marks the cut.
    """
    start = min(max(start, 0), len(text))  # offsets come from another module: clamp
    end = min(max(end, start), len(text))
    sentence_start, sentence_end = _sentence_bounds(text, start, end)
    before = _SPACE.sub(" ", text[sentence_start:start]).lstrip()
    match = _SPACE.sub(" ", text[start:end])
    after = _SPACE.sub(" ", text[end:sentence_end]).rstrip()
    if len(match) > SNIPPET_MAX:
        cut = match[:SNIPPET_MAX].rstrip() + ELLIPSIS
        return (ELLIPSIS if before else "", cut, ELLIPSIS if after else "")
    room = SNIPPET_MAX - len(match)
    if len(before) + len(after) <= room:
        return before, match, after
    # Context on both sides of the match: each side gets half the room, and a side that
    # needs less gives the rest to the other.
    keep_before = max(room // 2, room - len(after))
    keep_after = room - min(keep_before, len(before))
    return _cut_left(before, keep_before), match, _cut_right(after, keep_after)


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    sentence_start, sentence_end = 0, len(text)
    for boundary in _BOUNDARY.finditer(text):
        if boundary.end() <= start:
            sentence_start = boundary.end()
        elif boundary.start() >= end:
            # Keep the closing punctuation, not the newline.
            newline = boundary.group() == "\n"
            sentence_end = boundary.start() if newline else boundary.end()
            break
        # A boundary inside the match itself ("U.S. officials") does not end the sentence.
    return sentence_start, sentence_end


def _cut_left(text: str, keep: int) -> str:
    """The last `keep` characters of `text` (counting the "…"), from a word start."""
    if len(text) <= keep:
        return text
    if keep <= 1:
        return ELLIPSIS
    piece = text[len(text) - keep + 1 :]
    # Drop a word that the cut went through; a lone cut word is better than nothing.
    space = piece.find(" ")
    if text[len(text) - keep] != " " and 0 <= space < len(piece) - 1:
        piece = piece[space + 1 :]
    return ELLIPSIS + piece.lstrip()


def _cut_right(text: str, keep: int) -> str:
    """The first `keep` characters of `text` (counting the "…"), up to a word end."""
    if len(text) <= keep:
        return text
    if keep <= 1:
        return ELLIPSIS
    piece = text[: keep - 1]
    space = piece.rfind(" ")
    if text[keep - 1] != " " and space > 0:
        piece = piece[:space]
    return piece.rstrip() + ELLIPSIS
