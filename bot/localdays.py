"""Local calendar days as SQL can group by them: UTC offset segments of a time zone.

A post's local day is floor((posted_at + offset) / 86400) days after 1970-01-01, where
offset is the zone's UTC offset at that instant. The offset changes only at DST (or law)
transitions, so a range of time is a few segments of constant offset: storage turns
them into one CASE expression and groups by day in a single query, DST-correct.
Pure code: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_SECONDS = 86_400
_EPOCH = date(1970, 1, 1)
_STEP = 3600  # transitions fall on the hour or half hour; probed hourly, then bisected


@dataclass(frozen=True, slots=True)
class OffsetSegment:
    """Instants before `until` (Unix seconds) and after the previous segment's `until`
    have UTC offset `offset` seconds."""

    until: int
    offset: int


def day_number(day: date) -> int:
    return (day - _EPOCH).days


def from_day_number(number: int) -> date:
    return _EPOCH + timedelta(days=number)


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant the local day begins (local midnight, or the first instant after a
    midnight that a DST jump skipped)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _offset(unix_seconds: int, tz: ZoneInfo) -> int:
    delta = datetime.fromtimestamp(unix_seconds, tz).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def offset_segments(start: int, end: int, tz: ZoneInfo) -> list[OffsetSegment]:
    """The constant-offset segments covering [start, end) (Unix seconds); the last one's
    `until` is `end`."""
    segments: list[OffsetSegment] = []
    current = _offset(start, tz)
    probe = start
    while probe < end:
        nxt = min(probe + _STEP, end)
        changed = _offset(nxt, tz) if nxt < end else current
        if changed != current:
            low, high = probe, nxt  # offset(low) == current, offset(high) != current
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(middle, tz) == current:
                    low = middle
                else:
                    high = middle
            segments.append(OffsetSegment(high, current))
            current = changed
        probe = nxt
    segments.append(OffsetSegment(end, current))
    return segments
