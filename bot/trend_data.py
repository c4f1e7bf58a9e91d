"""Trends read from storage: the bulk daily counts fed to bot.trends."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.localdays import day_start, local_day
from bot.trend_status import TrendDay
from bot.trends import HISTORY_DAYS, DailyCount, TrendParams, compute_trends
from storage.backend import Backend
from storage.timeutil import from_unix, unix
from storage.trends import TrendRepository


def trend_params(settings: Settings) -> TrendParams:
    return TrendParams(
        p_threshold=settings.spike_p,
        min_posts=settings.spike_min_posts,
        min_channels=settings.spike_min_channels,
    )


async def load_trends(
    db: Backend,
    tz: ZoneInfo,
    start: date,
    end: date,
    params: TrendParams,
    framing: str | None = None,
) -> dict[str, list[TrendDay]]:
    """Framing slug -> one TrendDay per local day of [start, end] (in `tz`)."""
    repo = TrendRepository(db)
    first = start - timedelta(days=HISTORY_DAYS)
    dates = [first + timedelta(days=i) for i in range((end - first).days + 1)]
    bounds = [unix(day_start(d, tz)) for d in [*dates, end + timedelta(days=1)]]
    days = list(pairwise(bounds))  # [local midnight, next local midnight) of each day
    rows = await repo.daily_counts(days, framing)
    totals = await repo.daily_totals(days)
    firsts = await repo.first_posts(framing)
    counts = [DailyCount(r.framing_slug, dates[r.day], r.posts, r.channels) for r in rows]
    first_days = {slug: local_day(from_unix(t), tz) for slug, t in firsts.items()}
    by_day = dict(zip(dates, totals, strict=True))
    return compute_trends(counts, by_day, first_days, start, end, params)


async def first_stored_day(db: Backend, tz: ZoneInfo) -> date | None:
    oldest = await TrendRepository(db).oldest_post()
    return None if oldest is None else local_day(from_unix(oldest), tz)
