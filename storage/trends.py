"""Daily counts for trends: matched posts and channels per framing and local day, and all
stored posts per day, in bulk. Only posts of approved (`watched_channels`, migration 0006),
non-watchdog channels count. trend_posts holds only matches no moderator rejected (kept so by
migration 0015's triggers and storage/trend_store.py), so these queries need no verdict check.

The caller gives the days as [start, end) Unix-second ranges (local midnights, so DST days
of 23 or 25 hours are right), passed as one parameter per column (storage.dialect.int_rows).
Each day is then one seek in a covering index: no big sort, which is what grouping a million
rows by a computed day costs. Runs on SQLite and PostgreSQL (storage.backend).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from storage.backend import Backend
from storage.dialect import Dialect, by_day, indexed_by

# The channels whose posts count: approved (the watched_channels view), not watchdogs.
_COUNTED = "(SELECT chat_id FROM watched_channels WHERE watchdog = 0)"
# trend_posts (migration 0010): one row per matched post and framing, with its date and
# channel; the index (framing_id, posted_at, chat_id) answers each framing-day alone.
# {trend_index}/{posts_index}: SQLite's index hints; {days}: the table d(lo, hi, day, n).
# The counts are one pass: the framings' rows of trend_posts with their day
# (storage.dialect.by_day: {day}, {join}, {within}), grouped by channel, then per framing
# and day: posts and channels at once. (Two correlated subqueries per framing-day, one per
# count, were 73,000 subquery runs for 100 framings x 365 days: slow on PostgreSQL.)
_COUNTS = (
    "SELECT f.slug, c.day, sum(c.n), count(*) FROM ("  # noqa: S608 - fixed fragments only
    " SELECT t.framing_id, {day} AS day, t.chat_id, count(*) AS n"
    " FROM framings f {join} trend_posts t{trend_index}"
    "  ON t.framing_id = f.id AND {within}"
    # (not `f.slug = coalesce(?, f.slug)`: PostgreSQL estimates that as one framing.)
    f" WHERE (CAST(? AS TEXT) IS NULL OR f.slug = ?) AND t.chat_id IN {_COUNTED}"
    " GROUP BY 1, 2, 3"
    ") c JOIN framings f ON f.id = c.framing_id GROUP BY f.slug, c.day"
)
_TOTALS = (
    "SELECT d.day, (SELECT count(*) FROM posts{posts_index}"  # noqa: S608
    " WHERE posted_at >= d.lo AND posted_at < d.hi"
    f" AND chat_id IN {_COUNTED}) FROM {{days}}"
)
_FIRSTS = (
    "SELECT f.slug, (SELECT min(t.posted_at) FROM trend_posts t{trend_index}"  # noqa: S608
    f" WHERE t.framing_id = f.id AND t.chat_id IN {_COUNTED})"
    " FROM framings f WHERE f.slug = coalesce(CAST(? AS TEXT), f.slug)"
)


@cache
def _sql(template: str, dialect: Dialect) -> str:
    """The statement with SQLite's index hints (storage.dialect.indexed_by); {days} stays."""
    return template.format(
        trend_index=indexed_by(dialect, "trend_posts_framing"),
        posts_index=indexed_by(dialect, "posts_posted_chat"),
        days="{days}",
        day="{day}",
        join="{join}",
        within="{within}",
    )


@dataclass(frozen=True, slots=True)
class DayCount:
    framing_slug: str
    day: int  # index into the days asked for
    posts: int
    channels: int


@dataclass(frozen=True, slots=True)
class LinkedPost:
    chat_id: int
    username: str | None
    message_id: int
    posted_at: int  # Unix seconds


class TrendRepository:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def daily_counts(
        self, days: Sequence[tuple[int, int]], framing: str | None
    ) -> list[DayCount]:
        """Per framing (or only `framing`) and day with a post: posts and channels."""
        b = by_day(self._db.dialect, "t.posted_at", days)
        sql = _sql(_COUNTS, self._db.dialect).format(day=b.day, join=b.join, within=b.within)
        rows = await self._db.fetchall(sql, [*b.params, framing, framing])
        return [DayCount(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows if r[2]]

    async def daily_totals(self, days: Sequence[tuple[int, int]]) -> list[int]:
        """All posts of counted channels on each day."""
        table, params = self._days(days)
        rows = await self._db.fetchall(_sql(_TOTALS, self._db.dialect).format(days=table), params)
        totals = [0] * len(days)
        for r in rows:
            totals[int(r[0])] = int(r[1])
        return totals

    async def first_posts(self, framing: str | None = None) -> dict[str, int]:
        """Framing slug -> Unix time of its first counted matched post ever."""
        rows = await self._db.fetchall(_sql(_FIRSTS, self._db.dialect), (framing,))
        return {r[0]: int(r[1]) for r in rows if r[1] is not None}

    async def matched_posts(self, framing: str, start: int, end: int) -> list[LinkedPost]:
        """The framing's counted matched posts dated in [start, end), oldest first."""
        rows = await self._db.fetchall(
            "SELECT p.chat_id, c.username, p.message_id, p.posted_at FROM trend_posts t"
            " JOIN posts p ON p.id = t.post_id JOIN watched_channels c ON c.chat_id = p.chat_id"
            " JOIN framings f ON f.id = t.framing_id"
            " WHERE f.slug = ? AND c.watchdog = 0 AND t.posted_at >= ? AND t.posted_at < ?"
            " ORDER BY p.posted_at, p.chat_id, p.message_id",
            (framing, start, end),
        )
        return [LinkedPost(r[0], r[1], r[2], r[3]) for r in rows]

    def _days(self, days: Sequence[tuple[int, int]]) -> tuple[str, list[object]]:
        """The days as the table d(lo, hi, day): day is the index into `days`."""
        return self._db.dialect.int_rows(
            "d", ["lo", "hi", "day"], [(lo, hi, i) for i, (lo, hi) in enumerate(days)]
        )

    async def oldest_post(self) -> int | None:
        value = await self._db.fetchval("SELECT min(posted_at) FROM posts")
        return None if value is None else int(value)
