"""Trends: the spike test on crafted series, local days across DST, and the counts read
from a real database, SQLite and PostgreSQL (watchdogs and unapproved channels left out)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.ingest import store_posts
from bot.localdays import day_start
from bot.trend_data import first_stored_day, load_trends
from bot.trend_status import TrendDay, describe, status_of
from bot.trends import HISTORY_DAYS, DailyCount, TrendParams, compute_trends
from storage.backend import Backend
from storage.models import IncomingPost, MatchRow, PostToScan
from storage.posts import ChannelRepository, PostRepository
from storage.timeutil import unix
from storage.trends import TrendRepository

START = date(2026, 3, 1)
PARAMS = TrendParams()


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """The storage test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


def series(posts: list[int], channels: int = 3, total: int = 200) -> dict[str, list[TrendDay]]:
    """One framing, `posts[i]` posts on day i (the first HISTORY_DAYS are history)."""
    first = START - timedelta(days=HISTORY_DAYS)
    counts = [
        DailyCount("f", first + timedelta(days=i), n, min(n, channels))
        for i, n in enumerate(posts)
        if n
    ]
    totals = {first + timedelta(days=i): total for i in range(len(posts))}
    end = first + timedelta(days=len(posts) - 1)
    return compute_trends(counts, totals, {"f": first - timedelta(days=100)}, START, end, PARAMS)


def test_a_crafted_spike_is_flagged_on_its_day_only() -> None:
    background = [2, 1, 3, 2, 2, 1, 2] * 9  # 63 days
    background[50] = 14
    days = series(background)["f"]
    flagged = [d.day for d in days if d.spike]
    assert flagged == [START + timedelta(days=50 - HISTORY_DAYS)]
    spike = days[50 - HISTORY_DAYS]
    assert 1.5 < spike.expected < 2.5 and spike.p_value < 0.001 and spike.posts >= spike.limit
    # The spike is an outlier in later baselines: it barely moves their expectation.
    later = days[50 - HISTORY_DAYS + 5]
    assert later.expected < 2.5 and not later.spike


def test_a_spike_needs_enough_posts_and_channels() -> None:
    quiet = [0] * 40
    quiet[35] = 4  # p is tiny against a silent baseline, but 4 posts are not enough
    assert not any(d.spike for d in series(quiet)["f"])
    quiet[35] = 6
    assert [d.posts for d in series(quiet)["f"] if d.spike] == [6]
    assert not any(d.spike for d in series(quiet, channels=1)["f"])  # one channel only


def test_the_first_day_ever_is_new_not_a_spike() -> None:
    first = START - timedelta(days=HISTORY_DAYS)
    counts = [DailyCount("f", START + timedelta(days=3), 9, 4)]
    totals = {first + timedelta(days=i): 100 for i in range(HISTORY_DAYS + 10)}
    days = compute_trends(
        counts, totals, {"f": START + timedelta(days=3)}, START, START + timedelta(days=9), PARAMS
    )["f"]
    (day,) = [d for d in days if d.posts]
    assert day.new and not day.spike
    status = status_of(days, [day.day])
    assert status is not None and describe(status) == "new"


def test_the_expectation_follows_the_share_when_channels_come_and_go() -> None:
    # All stored posts double from day 40 on (new channels): so do the framing's posts.
    first = START - timedelta(days=HISTORY_DAYS)
    counts, totals = [], {}
    for i in range(70):
        day = first + timedelta(days=i)
        totals[day] = 100 if i < 40 else 200
        counts.append(DailyCount("f", day, 3 if i < 40 else 6, 3))
    days = compute_trends(counts, totals, {"f": first}, START, first + timedelta(days=69), PARAMS)[
        "f"
    ]
    assert not any(d.spike for d in days)
    assert days[-1].expected > 5  # 3% of 200, not 3 posts


def test_limit_is_the_least_count_with_p_below_the_threshold() -> None:
    rng = random.Random(5)
    posts = [rng.choice([0, 1, 2, 3, 5, 8, 13, 30]) for _ in range(120)]
    for day in series(posts)["f"]:
        assert (day.p_value < PARAMS.p_threshold) == (day.posts >= day.limit), day


def test_status_prefers_a_spike_and_describes_it() -> None:
    background = [2, 1, 3, 2, 2, 1, 2] * 9
    background[50] = 14
    days = series(background)["f"]
    status = status_of(days, [d.day for d in days[15:25]])
    assert status is not None and status.state == "surging"
    assert describe(status).startswith("surging: 14 posts vs ") and "(p < 0.001)" in describe(
        status
    )
    usual = status_of(days, [days[0].day])
    assert usual is not None and describe(usual) == f"usual: {days[0].posts} vs " + (
        f"{days[0].expected:.1f}"
    )


def test_local_days_follow_dst() -> None:
    kyiv = ZoneInfo("Europe/Kyiv")
    spring = day_start(date(2026, 3, 30), kyiv) - day_start(date(2026, 3, 29), kyiv)
    autumn = day_start(date(2026, 10, 26), kyiv) - day_start(date(2026, 10, 25), kyiv)
    assert (spring, autumn) == (timedelta(hours=23), timedelta(hours=25))


# --- from storage ---------------------------------------------------------------------

KYIV = ZoneInfo("Europe/Kyiv")
A, B, WATCHDOG, PENDING = -1001, -1002, -1003, -1004


def post(chat_id: int, message_id: int, at: datetime, text: str) -> IncomingPost:
    return IncomingPost(chat_id, message_id, at, text, f"Channel {chat_id}", None)


async def match_all(db: Backend, framing_id: int, term_ids: list[int], now: datetime) -> None:
    """Match every post containing "spin" against the framing's terms (as the scan would)."""
    from storage.matches import MatchRepository

    matches = MatchRepository(db)
    todo = await matches.posts_needing_scan(10_000)
    found = [
        MatchRow(p.post_id, term, framing_id, 0, 4)
        for p in todo
        if "spin" in p.text
        for term in term_ids
    ]
    await matches.replace_for_posts([PostToScan(p.post_id, p.text) for p in todo], found, now)


async def test_counts_from_the_database_leave_out_watchdogs_and_pending_channels(
    db: Backend,
) -> None:
    now = datetime(2026, 3, 30, 12, tzinfo=UTC)
    async with db.atomic() as conn:
        await conn.execute(
            "INSERT INTO framings (id, slug, title, created_at) VALUES (1, 'f', 'F', ?)",
            (now.isoformat(),),
        )
        for term in (1, 2):
            await conn.execute(
                "INSERT INTO terms (id, framing_id, text, key, created_at) VALUES (?, 1, ?, ?, ?)",
                (term, f"t{term}", f"t{term}", now.isoformat()),
            )
    # 29 Mar is the DST day in Kyiv: 23:30 local is 20:30 UTC, still 29 Mar.
    late = datetime(2026, 3, 29, 20, 30, tzinfo=UTC)
    early = datetime(2026, 3, 29, 21, 30, tzinfo=UTC)  # 00:30 on 30 Mar, local
    posts = [
        post(A, 1, late, "spin"),
        post(B, 1, late, "spin and more"),
        post(B, 2, late, "weather"),
        post(WATCHDOG, 1, late, "spin debunked"),
        post(PENDING, 1, late, "spin"),
        post(A, 2, early, "spin"),
    ]
    await store_posts(PostRepository(db), posts, now)
    channels = ChannelRepository(db)
    await channels.set_watchdog(WATCHDOG, True, None, now)
    async with db.atomic() as conn:
        await conn.execute("UPDATE channels SET approval = 'pending' WHERE chat_id = ?", (PENDING,))
    await match_all(db, 1, [1, 2], now)  # two terms each: a post still counts once
    found = await load_trends(db, KYIV, date(2026, 3, 29), date(2026, 3, 30), PARAMS)
    first, second = found["f"]
    assert (first.day, first.posts, first.channels) == (date(2026, 3, 29), 2, 2)
    assert first.share == 2 / 3  # of A's and B's three posts; watchdog and pending left out
    assert (second.day, second.posts, second.channels, second.share) == (
        date(2026, 3, 30), 1, 1, 1.0,
    )  # fmt: skip
    assert first.new and not second.new
    # Removing a post's matches (an edit) takes it out of the counts.
    async with db.atomic() as conn:
        await conn.execute(
            "DELETE FROM matches WHERE post_id = (SELECT id FROM posts"
            " WHERE chat_id = ? AND message_id = 2)",
            (A,),
        )
    found = await load_trends(db, KYIV, date(2026, 3, 30), date(2026, 3, 30), PARAMS)
    assert found["f"][0].posts == 0
    assert day_start(date(2026, 3, 30), KYIV) == datetime(2026, 3, 29, 21, tzinfo=UTC)
    assert await first_stored_day(db, KYIV) == date(2026, 3, 29)
    trends = TrendRepository(db)
    assert [(p.chat_id, p.message_id) for p in await trends.matched_posts("f", 0, 2**40)] == [
        (B, 1),  # same time: by chat id
        (A, 1),
    ]  # the watchdog's and the pending channel's posts left out, A's second no longer matched
    assert await trends.matched_posts("f", 0, unix(late)) == []
    assert await trends.matched_posts("nope", 0, 2**40) == []
    assert await trends.first_posts("nope") == {}
    assert await trends.first_posts() == {"f": unix(late)}


async def _seed_many(db: Backend, now: datetime) -> None:
    """3 framings, 5 channels (one a watchdog), 300 posts over 20 days, several a day from
    one channel, each matched by one or two framings (by its words)."""
    async with db.atomic() as conn:
        for f in (1, 2, 3):
            await conn.execute(
                "INSERT INTO framings (id, slug, title, created_at) VALUES (?, ?, 'F', ?)",
                (f, f"f{f}", now.isoformat()),
            )
            await conn.execute(
                "INSERT INTO terms (id, framing_id, text, key, created_at) VALUES (?, ?, ?, ?, ?)",
                (f, f, f"spin{f}", f"spin{f}", now.isoformat()),
            )
    rng = random.Random(5)
    chats = [A, B, WATCHDOG, -1005, -1006]
    posts = [
        post(
            rng.choice(chats),
            i,
            now - timedelta(days=20) + timedelta(minutes=rng.randrange(20 * 24 * 60)),
            " ".join(f"spin{f}" for f in (1, 2, 3) if rng.random() < 0.4),
        )
        for i in range(300)
    ]
    await store_posts(PostRepository(db), posts, now)
    await ChannelRepository(db).set_watchdog(WATCHDOG, True, None, now)
    from storage.matches import MatchRepository

    matches = MatchRepository(db)
    todo = await matches.posts_needing_scan(10_000)
    found = [
        MatchRow(p.post_id, f, f, 0, 5) for p in todo for f in (1, 2, 3) if f"spin{f}" in p.text
    ]
    await matches.replace_for_posts([PostToScan(p.post_id, p.text) for p in todo], found, now)


async def test_counts_are_the_same_on_both_databases(sqlite_db: Backend, pg_url: str) -> None:
    """The one-pass counts (posts and channels per framing and local day) agree between
    SQLite and PostgreSQL on the same posts, for all framings and for one."""
    from storage.db import open_backend

    now = datetime(2026, 3, 30, 12, tzinfo=UTC)
    pg = await open_backend(pg_url)
    try:
        days = [(unix(day_start(d, KYIV)), unix(day_start(d + timedelta(days=1), KYIV))) for d in
                (date(2026, 3, 9) + timedelta(days=i) for i in range(22))]  # fmt: skip
        found = []
        for db in (sqlite_db, pg):
            await _seed_many(db, now)
            trends = TrendRepository(db)
            every = await trends.daily_counts(days, None)
            found.append(
                (
                    sorted(every, key=lambda c: (c.framing_slug, c.day)),
                    await trends.daily_counts(days, "f2"),
                    await trends.daily_totals(days),
                )
            )
    finally:
        await pg.close()
    assert found[0][0] == found[1][0] and len(found[0][0]) > 30
    assert sorted(found[0][1], key=lambda c: c.day) == sorted(found[1][1], key=lambda c: c.day)
    assert found[0][2] == found[1][2] and sum(found[0][2]) > 200
    assert any(c.posts > c.channels for c in found[0][0])  # a channel twice a day counted once
