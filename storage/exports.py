"""What analysts export: every stored post or match, read page by page.

Pages are keyed (posts by id, matches by their primary key), never OFFSET, so each page
costs the same however far in, and memory holds one page whatever the table's size.
Runs on SQLite and PostgreSQL (storage.backend).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.backend import Backend
from storage.dialect import ordered_join
from storage.timeutil import from_unix, unix

PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class ChannelRef:
    chat_id: int
    username: str | None
    title: str


@dataclass(frozen=True, slots=True)
class ExportedPost:
    chat_id: int
    channel_username: str | None
    channel_title: str
    message_id: int
    posted_at: datetime
    edited_at: datetime | None
    versions: int  # earlier texts kept (edits FrameWatch saw)
    text: str
    views: int | None
    author: str | None
    forwarded_from: str | None
    forwarded_link: str | None
    reply_to: int | None
    media: str | None
    source: str


@dataclass(frozen=True, slots=True)
class ExportedMatch:
    chat_id: int
    channel_username: str | None
    channel_title: str
    message_id: int
    posted_at: datetime
    framing_slug: str
    framing_title: str
    term: str
    matched_text: str  # posts.text[start:end]
    start: int
    end: int
    matched_at: str  # ISO 8601, as stored
    channel_watchdog: bool = False  # the channel quotes framings to debunk them (/watchdog)
    verdict: str | None = None  # a moderator's verdict on it (/review); None: unreviewed


_POSTS_PAGE = (
    "SELECT p.id, p.chat_id, c.username, c.title, p.message_id, p.posted_at, p.edited_at,"
    " (SELECT count(*) FROM post_versions v WHERE v.post_id = p.id), p.text, p.views,"
    " p.author, p.forwarded_from, p.forwarded_link, p.reply_to, p.media, p.source"
    " FROM posts p JOIN channels c ON c.chat_id = p.chat_id"
    " WHERE p.id > ? AND (CAST(? AS BIGINT) IS NULL OR p.chat_id = ?)"
    " AND (CAST(? AS BIGINT) IS NULL OR p.posted_at >= ?)"
    " ORDER BY p.id LIMIT ?"
)

# CROSS JOIN keeps matches the outer loop on SQLite, walked in primary-key order (the page
# key); PostgreSQL plans it itself (storage.dialect.ordered_join). substr counts characters, as
# Python slicing does, so this is posts.text[start:end].
_MATCHES_PAGE = (
    "SELECT m.post_id, m.term_id, p.chat_id, c.username, c.title, p.message_id, p.posted_at,"
    " f.slug, f.title, t.text,"
    " substr(p.text, CAST(m.start_pos + 1 AS INTEGER), CAST(m.end_pos - m.start_pos AS INTEGER)),"
    " m.start_pos, m.end_pos, m.matched_at, c.watchdog, v.verdict"
    " FROM matches m {join} posts p ON p.id = m.post_id"
    " JOIN channels c ON c.chat_id = p.chat_id"
    " JOIN framings f ON f.id = m.framing_id JOIN terms t ON t.id = m.term_id"
    " LEFT JOIN verdicts v ON v.post_id = m.post_id AND v.framing_id = m.framing_id"
    " WHERE (m.post_id, m.term_id) > (?, ?)"
    " AND (CAST(? AS TEXT) IS NULL OR f.slug = ?)"
    " AND (CAST(? AS BIGINT) IS NULL OR p.posted_at >= ?)"
    " ORDER BY m.post_id, m.term_id LIMIT ?"
)


class ExportRepository:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def find_channels(
        self, chat_ids: Sequence[int], username: str | None, title: str
    ) -> list[ChannelRef]:
        """Stored channels with one of these ids, this username, or else this title
        (case-insensitive for names)."""
        ids, params = self._db.dialect.int_list(chat_ids)
        rows = await self._db.fetchall(
            "SELECT chat_id, username, title FROM channels"  # noqa: S608
            f" WHERE chat_id IN {ids} OR lower(username) = lower(?)",
            [*params, username],
        )
        if not rows:
            rows = await self._db.fetchall(
                "SELECT chat_id, username, title FROM channels WHERE lower(title) = lower(?)",
                (title,),
            )
        return [ChannelRef(r[0], r[1], r[2]) for r in rows]

    async def posts(
        self, chat_id: int | None, since: datetime | None, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[ExportedPost]:
        """Every stored post (of one channel, dated since), in the order they were stored."""
        after = 0
        while True:
            start = _unix_or_none(since)
            rows = await self._db.fetchall(
                _POSTS_PAGE, (after, chat_id, chat_id, start, start, page_size)
            )
            for r in rows:
                yield ExportedPost(
                    r[1], r[2], r[3], r[4], from_unix(r[5]),
                    from_unix(r[6]) if r[6] is not None else None,
                    *r[7:],
                )  # fmt: skip
            if len(rows) < page_size:
                return
            after = rows[-1][0]

    async def matches(
        self, framing: str | None, since: datetime | None, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[ExportedMatch]:
        """Every match (of one framing, in posts dated since), by post then term."""
        after = (0, 0)
        while True:
            start = _unix_or_none(since)
            rows = await self._db.fetchall(
                _MATCHES_PAGE.format(join=ordered_join(self._db.dialect)),
                (*after, framing, framing, start, start, page_size),
            )
            for r in rows:
                yield ExportedMatch(
                    chat_id=r[2],
                    channel_username=r[3],
                    channel_title=r[4],
                    message_id=r[5],
                    posted_at=from_unix(r[6]),
                    framing_slug=r[7],
                    framing_title=r[8],
                    term=r[9],
                    matched_text=r[10],
                    start=r[11],
                    end=r[12],
                    matched_at=r[13],
                    channel_watchdog=bool(r[14]),
                    verdict=r[15],
                )
            if len(rows) < page_size:
                return
            after = (rows[-1][0], rows[-1][1])


def _unix_or_none(moment: datetime | None) -> int | None:
    return unix(moment) if moment is not None else None
