"""Trends read from storage: the bulk daily counts fed to bot.trends."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.localdays import day_start, from_day_number, local_day, offset_segments
from bot.trend_status import TrendDay
from bot.trends import HISTORY_DAYS, DailyCount, TrendParams, compute_trends
from storage.db import Database
from storage.timeutil import from_unix, unix
from storage.trends import TrendRepository


def trend_params(settings: Settings) -> TrendParams:
    return TrendParams(
        p_threshold=settings.spike_p,
        min_posts=settings.spike_min_posts,
        min_channels=settings.spike_min_channels,
    )


async def load_trends(
    db: Database,
    tz: ZoneInfo,
    start: date,
    end: date,
    params: TrendParams,
    framing: str | None = None,
) -> dict[str, list[TrendDay]]:
    """Framing slug -> one TrendDay per local day of [start, end] (in `tz`)."""
    repo = TrendRepository(db)
    since = unix(day_start(start - timedelta(days=HISTORY_DAYS), tz))
    until = unix(day_start(end + timedelta(days=1), tz))
    segments = [(s.until, s.offset) for s in offset_segments(since, until, tz)]
    rows = await repo.daily_counts(since, until, segments, framing)
    totals = await repo.daily_totals(since, until, segments)
    firsts = await repo.first_posts(framing)
    counts = [DailyCount(r.framing_slug, from_day_number(r.day), r.posts, r.channels) for r in rows]
    first_days = {slug: local_day(from_unix(t), tz) for slug, t in firsts.items()}
    by_day = {from_day_number(day): total for day, total in totals.items()}
    return compute_trends(counts, by_day, first_days, start, end, params)


async def first_stored_day(db: Database, tz: ZoneInfo) -> date | None:
    oldest = await TrendRepository(db).oldest_post()
    return None if oldest is None else local_day(from_unix(oldest), tz)
