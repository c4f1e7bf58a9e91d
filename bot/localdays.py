"""Local calendar days in the configured time zone (pure: no I/O, no clock).

A local day runs from one local midnight to the next: 23 or 25 hours on DST days, which is
why storage is given each day's [start, end) instants rather than a fixed 86,400 seconds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant the local day begins (local midnight; where a DST jump skips
    midnight, zoneinfo resolves it to the first instant that exists)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()
