"""bot.periods: daily digest periods in the subscribers' time zone, DST included."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.periods import Period, days_matched, latest_period

KYIV = ZoneInfo("Europe/Kyiv")  # UTC+2 in winter, UTC+3 in summer
NINE = time(9, 0)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "key", "start", "end"),
    [
        # 08:59 in Kyiv: today's digest is not due yet, so the latest period is yesterday's
        (utc(2026, 11, 25, 6, 59), "2026-11-24", utc(2026, 11, 23, 7), utc(2026, 11, 24, 7)),
        # exactly 09:00 in Kyiv: today's period has just ended (its end is exclusive)
        (utc(2026, 11, 25, 7, 0), "2026-11-25", utc(2026, 11, 24, 7), utc(2026, 11, 25, 7)),
        # afternoon
        (utc(2026, 11, 25, 12, 0), "2026-11-25", utc(2026, 11, 24, 7), utc(2026, 11, 25, 7)),
        # 01:30 on the 26th in Kyiv, still the 25th in UTC
        (utc(2026, 11, 25, 23, 30), "2026-11-25", utc(2026, 11, 24, 7), utc(2026, 11, 25, 7)),
        # summer time: 09:00 in Kyiv is 06:00 UTC
        (utc(2026, 7, 1, 6, 0), "2026-07-01", utc(2026, 6, 30, 6), utc(2026, 7, 1, 6)),
        (utc(2026, 7, 1, 5, 59), "2026-06-30", utc(2026, 6, 29, 6), utc(2026, 6, 30, 6)),
    ],
)
def test_latest_period_before_and_after_digest_time(
    now: datetime, key: str, start: datetime, end: datetime
) -> None:
    assert latest_period(now, NINE, KYIV) == Period(key, start, end)


def test_key_is_the_local_date_not_the_utc_date() -> None:
    # Digest at 00:30 local; 22:45 UTC on the 25th is 00:45 on the 26th in Kyiv.
    period = latest_period(utc(2026, 11, 25, 22, 45), time(0, 30), KYIV)
    assert period.key == "2026-11-26"
    assert period.end == utc(2026, 11, 25, 22, 30)
    assert period.start == utc(2026, 11, 24, 22, 30)


def test_now_in_another_zone_gives_the_same_period() -> None:
    now = utc(2026, 11, 25, 12, 0)
    assert latest_period(now.astimezone(KYIV), NINE, KYIV) == latest_period(now, NINE, KYIV)
    assert latest_period(now.astimezone(ZoneInfo("America/New_York")), NINE, KYIV) == (
        latest_period(now, NINE, KYIV)
    )


def test_period_bounds_are_utc_aware() -> None:
    period = latest_period(utc(2026, 11, 25, 12, 0), NINE, KYIV)
    assert period.start.utcoffset() == timedelta(0)
    assert period.end.utcoffset() == timedelta(0)


def test_spring_forward_period_is_23_hours() -> None:
    # Europe moves to summer time on 2026-03-29 (03:00 EET -> 04:00 EEST in Kyiv).
    period = latest_period(utc(2026, 3, 29, 12, 0), NINE, KYIV)

    assert period.key == "2026-03-29"
    assert period.start == utc(2026, 3, 28, 7, 0)  # 09:00 at UTC+2
    assert period.end == utc(2026, 3, 29, 6, 0)  # 09:00 at UTC+3
    assert period.start.astimezone(KYIV).utcoffset() == timedelta(hours=2)
    assert period.end.astimezone(KYIV).utcoffset() == timedelta(hours=3)
    assert period.end - period.start == timedelta(hours=23)


def test_fall_back_period_is_25_hours() -> None:
    # Europe returns to winter time on 2026-10-25 (04:00 EEST -> 03:00 EET in Kyiv).
    period = latest_period(utc(2026, 10, 25, 12, 0), NINE, KYIV)

    assert period.key == "2026-10-25"
    assert period.start == utc(2026, 10, 24, 6, 0)  # 09:00 at UTC+3
    assert period.end == utc(2026, 10, 25, 7, 0)  # 09:00 at UTC+2
    assert period.start.astimezone(KYIV).utcoffset() == timedelta(hours=3)
    assert period.end.astimezone(KYIV).utcoffset() == timedelta(hours=2)
    assert period.end - period.start == timedelta(hours=25)


def test_on_the_dst_day_the_digest_is_due_at_the_new_local_nine() -> None:
    # 06:30 UTC on 2026-03-29 is already 09:30 in Kyiv (UTC+3): today's period is complete,
    # although on the day before 06:30 UTC was only 08:30 there.
    assert latest_period(utc(2026, 3, 29, 6, 30), NINE, KYIV).key == "2026-03-29"
    assert latest_period(utc(2026, 3, 28, 6, 30), NINE, KYIV).key == "2026-03-27"
    # In autumn the reverse: 06:30 UTC on 2026-10-25 is 08:30 in Kyiv, not yet due.
    assert latest_period(utc(2026, 10, 25, 6, 30), NINE, KYIV).key == "2026-10-24"
    assert latest_period(utc(2026, 10, 24, 6, 30), NINE, KYIV).key == "2026-10-24"


@pytest.mark.parametrize(
    ("first", "last"),
    [(utc(2026, 3, 26), utc(2026, 4, 2)), (utc(2026, 10, 22), utc(2026, 10, 29))],
)
def test_periods_tile_time_without_gaps_or_overlaps(first: datetime, last: datetime) -> None:
    now = first
    while now < last:
        period = latest_period(now, NINE, KYIV)
        assert period.end <= now < period.end + timedelta(hours=25)
        assert period.end.astimezone(KYIV).time() == NINE
        assert period.start.astimezone(KYIV).time() == NINE
        previous = latest_period(period.end - timedelta(microseconds=1), NINE, KYIV)
        assert previous.end == period.start
        assert previous.key < period.key
        assert period.key == period.end.astimezone(KYIV).date().isoformat()
        now += timedelta(minutes=20)


def test_days_matched_counts_distinct_local_days() -> None:
    times = [
        # 00:30 on the 25th in Kyiv (UTC+2), though still the 24th in UTC
        ("goodwill", utc(2026, 11, 24, 22, 30)),
        ("goodwill", utc(2026, 11, 25, 10, 0)),
        ("goodwill", utc(2026, 11, 25, 21, 59)),  # 23:59 on the 25th in Kyiv
        ("goodwill", utc(2026, 11, 23, 21, 30)),  # 23:30 on the 23rd in Kyiv
        ("feint", utc(2026, 11, 25, 22, 0)),  # 00:00 on the 26th in Kyiv
        ("feint", utc(2026, 11, 25, 21, 0)),  # 23:00 on the 25th in Kyiv
    ]

    assert days_matched(times, KYIV) == {"goodwill": 2, "feint": 2}
    # In UTC the same moments fall on other days.
    assert days_matched(times, ZoneInfo("UTC")) == {"goodwill": 3, "feint": 1}


def test_days_matched_across_dst_and_empty() -> None:
    times = [
        ("x", utc(2026, 3, 28, 21, 30)),  # 23:30 on the 28th at UTC+2
        ("x", utc(2026, 3, 29, 21, 30)),  # 00:30 on the 30th at UTC+3
        ("x", utc(2026, 3, 29, 20, 59)),  # 23:59 on the 29th at UTC+3
    ]
    assert days_matched(times, KYIV) == {"x": 3}
    assert days_matched([], KYIV) == {}
