"""Digest periods: pure date arithmetic in the subscriber-facing time zone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Period:
    key: str  # local date of the scheduled digest, e.g. "2026-11-25"
    start: datetime  # UTC-aware, inclusive: the previous digest time
    end: datetime  # UTC-aware, exclusive: this digest's scheduled time


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def latest_period(now: datetime, digest_time: time, tz: ZoneInfo) -> Period:
    """The most recent daily period whose digest time is at or before `now`."""
    day = now.astimezone(tz).date()
    end = _at(day, digest_time, tz)
    if end > now:
        day -= timedelta(days=1)
        end = _at(day, digest_time, tz)
    return Period(day.isoformat(), _at(day - timedelta(days=1), digest_time, tz), end)


def days_matched(times: Iterable[tuple[str, datetime]], tz: ZoneInfo) -> Mapping[str, int]:
    """For each framing slug, on how many distinct local days it matched."""
    days: dict[str, set[date]] = defaultdict(set)
    for slug, moment in times:
        days[slug].add(moment.astimezone(tz).date())
    return {slug: len(found) for slug, found in days.items()}
