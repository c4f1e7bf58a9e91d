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
        whens.append("WHEN posted_at < ? THEN ?")
        params += [until, offset]
    last = segments[-1][1]
    if not whens:
        return "(posted_at + ?) / 86400", [last]
    return f"(posted_at + CASE {' '.join(whens)} ELSE ? END) / 86400", [*params, last]


# The channels whose posts count: approved (the watched_channels view), not watchdogs.
_COUNTED = "(SELECT chat_id FROM watched_channels WHERE watchdog = 0)"


class TrendRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def daily_counts(
        self, start: int, end: int, segments: Sequence[tuple[int, int]], framing: str | None
    ) -> list[DayCount]:
        """Per framing and local day, posts dated in [start, end) (Unix seconds)."""
        day, day_params = _day_expression(segments)
        # Only fixed SQL fragments are joined in; every value is a parameter.
        only = " AND framing_id = (SELECT id FROM framings WHERE slug = ?)" if framing else ""
        # trend_posts (migration 0010) has one row per matched post and framing; its
        # covering index on (posted_at, framing_id, chat_id) is all this query reads.
        sql = (
            f"SELECT framing_id, {day} AS day, count(*), count(DISTINCT chat_id)"  # noqa: S608
            " FROM trend_posts INDEXED BY trend_posts_day"
            f" WHERE posted_at >= ? AND posted_at < ? AND chat_id IN {_COUNTED}{only}"
            " GROUP BY framing_id, day"
        )
        params = [*day_params, start, end] + ([framing] if framing else [])
        rows = await self._db.fetchall(sql, params)
        slugs = await self._slugs()
        return [
            DayCount(slugs[r[0]], int(r[1]), int(r[2]), int(r[3])) for r in rows if r[0] in slugs
        ]

    async def _slugs(self) -> dict[int, str]:
        return {r[0]: r[1] for r in await self._db.fetchall("SELECT id, slug FROM framings")}

    async def daily_totals(
        self, start: int, end: int, segments: Sequence[tuple[int, int]]
    ) -> dict[int, int]:
        """Local day number -> all posts of counted channels dated in [start, end)."""
        day, day_params = _day_expression(segments)
        sql = (
            f"SELECT {day} AS day, count(*) FROM posts INDEXED BY posts_posted_chat"  # noqa: S608
            f" WHERE posted_at >= ? AND posted_at < ? AND chat_id IN {_COUNTED}"
            " GROUP BY day"
        )
        rows = await self._db.fetchall(sql, [*day_params, start, end])
        return {int(r[0]): int(r[1]) for r in rows}

    async def first_posts(self, framing: str | None = None) -> dict[str, int]:
        """Framing slug -> Unix time of its first counted matched post ever."""
        only = " AND f.slug = ?" if framing is not None else ""
        rows = await self._db.fetchall(
            "SELECT f.slug, min(t.posted_at) FROM trend_posts t"  # noqa: S608
            f" JOIN framings f ON f.id = t.framing_id WHERE t.chat_id IN {_COUNTED}{only}"
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
