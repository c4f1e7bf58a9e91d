"""Daily counts for trends: matched posts and channels per framing and local day, and all
stored posts per day, in bulk. Only posts of approved (`watched_channels`, migration 0006),
non-watchdog channels count.

The local day is computed in SQL from UTC offset segments the caller gives (one CASE
expression, DST-correct): (posted_at + offset) / 86400 is the local day's number since
1970-01-01.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Database


@dataclass(frozen=True, slots=True)
class DayCount:
    framing_slug: str
    day: int  # local days since 1970-01-01
    posts: int
    channels: int


@dataclass(frozen=True, slots=True)
class LinkedPost:
    chat_id: int
    username: str | None
    message_id: int
    posted_at: int  # Unix seconds


def _day_expression(segments: Sequence[tuple[int, int]]) -> tuple[str, list[int]]:
    """SQL for the local day number of p.posted_at, and its parameters. segments: (until,
    offset) pairs in order; the last one applies to everything after the others."""
    if not segments:
        raise ValueError("at least one offset segment is needed")
    whens: list[str] = []
    params: list[int] = []
    for until, offset in segments[:-1]:
        whens.append("WHEN p.posted_at < ? THEN ?")
        params += [until, offset]
    last = segments[-1][1]
    if not whens:
        return "(p.posted_at + ?) / 86400", [last]
    return f"(p.posted_at + CASE {' '.join(whens)} ELSE ? END) / 86400", [*params, last]


class TrendRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def daily_counts(
        self, start: int, end: int, segments: Sequence[tuple[int, int]], framing: str | None
    ) -> list[DayCount]:
        """Per framing and local day, posts dated in [start, end) (Unix seconds)."""
        day, day_params = _day_expression(segments)
        only = " AND f.slug = ?" if framing is not None else ""
        # Only fixed SQL fragments are joined in; every value is a parameter.
        sql = (
            f"SELECT f.slug, {day} AS day, count(DISTINCT p.id), count(DISTINCT p.chat_id)"  # noqa: S608
            " FROM matches m JOIN posts p ON p.id = m.post_id"
            " JOIN watched_channels c ON c.chat_id = p.chat_id"
            " JOIN framings f ON f.id = m.framing_id"
            f" WHERE c.watchdog = 0 AND p.posted_at >= ? AND p.posted_at < ?{only}"
            " GROUP BY f.slug, day"
        )
        params = [*day_params, start, end] + ([framing] if framing is not None else [])
        rows = await self._db.fetchall(sql, params)
        return [DayCount(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]

    async def daily_totals(
        self, start: int, end: int, segments: Sequence[tuple[int, int]]
    ) -> dict[int, int]:
        """Local day number -> all posts of counted channels dated in [start, end)."""
        day, day_params = _day_expression(segments)
        sql = (
            f"SELECT {day} AS day, count(*) FROM posts p"  # noqa: S608
            " WHERE p.posted_at >= ? AND p.posted_at < ? AND p.chat_id IN"
            " (SELECT chat_id FROM watched_channels WHERE watchdog = 0)"
            " GROUP BY day"
        )
        rows = await self._db.fetchall(sql, [*day_params, start, end])
        return {int(r[0]): int(r[1]) for r in rows}

    async def first_posts(self, framing: str | None = None) -> dict[str, int]:
        """Framing slug -> Unix time of its first counted matched post ever."""
        only = " AND f.slug = ?" if framing is not None else ""
        rows = await self._db.fetchall(
            "SELECT f.slug, min(p.posted_at) FROM matches m"  # noqa: S608
            " JOIN posts p ON p.id = m.post_id JOIN watched_channels c ON c.chat_id = p.chat_id"
            f" JOIN framings f ON f.id = m.framing_id WHERE c.watchdog = 0{only}"
            " GROUP BY f.slug",
            [framing] if framing is not None else [],
        )
        return {r[0]: int(r[1]) for r in rows}

    async def matched_posts(self, framing: str, start: int, end: int) -> list[LinkedPost]:
        """The framing's counted matched posts dated in [start, end), oldest first."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT p.chat_id, c.username, p.message_id, p.posted_at FROM matches m"
            " JOIN posts p ON p.id = m.post_id JOIN watched_channels c ON c.chat_id = p.chat_id"
            " JOIN framings f ON f.id = m.framing_id"
            " WHERE f.slug = ? AND c.watchdog = 0 AND p.posted_at >= ? AND p.posted_at < ?"
            " ORDER BY p.posted_at, p.chat_id, p.message_id",
            (framing, start, end),
        )
        return [LinkedPost(r[0], r[1], r[2], r[3]) for r in rows]

    async def oldest_post(self) -> int | None:
        value = await self._db.fetchval("SELECT min(posted_at) FROM posts")
        return None if value is None else int(value)
