"""Each subscriber's own digest: their time and zone, their framings, compact or full.

The delivery job runs every minute with the injected clock set to chosen instants; a
restart is a new Application with new services on the same database file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import build_application
from bot.context import Services
from bot.database import open_db
from bot.digest import Digest, DigestPost, FramingSummary
from bot.digest_render import render_compact
from bot.telegram_text import MAX_TEXT, units
from storage.subscriber_settings import DuePeriod, SubscriberPrefs, SubscriberSettingsRepository
from tests.conftest import MODERATOR, Harness
from tests.fake_telegram import channel_post, my_chat_member

CHANNEL = -1001000000001
KYIV_USER, NY_USER = 101, 102
TITLE = "FrameWatch digest"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def run_job(app: Any, name: str) -> None:
    (job,) = app.job_queue.get_jobs_by_name(name)
    await job.run(app)


async def tick(h: Harness, when: datetime, app: Any = None) -> None:
    h.clock.now = when
    await run_job(app or h.app, "digest-minute")


def digests(h: Harness, chat_id: int) -> list[str]:
    return [m.text for m in h.tg.sent_to(chat_id) if TITLE in m.text]


async def post(h: Harness, message_id: int, text: str, when: datetime) -> None:
    date = int(when.timestamp())
    await h.push(channel_post(CHANNEL, message_id, text, date=date, username="echo", title="Echo"))


async def setup_world(h: Harness) -> None:
    """Two framings, two subscribers (Kyiv's default 09:00 = 07:00 UTC; New York's own
    08:30 = 13:30 UTC), and posts inside one or both of their periods."""
    await h.grant_roles()
    await h.command(MODERATOR, "/watch goodwill-gesture жест доброй воли")
    await h.command(MODERATOR, "/watch feint tactical feint")
    await h.push(my_chat_member(CHANNEL, "Echo", "echo", user_id=MODERATOR))
    h.clock.now = at(24, 14)  # after both subscribers' digest time of the 24th
    for chat in (KYIV_USER, NY_USER):
        await h.command(chat, "/subscribe")
    await h.command(NY_USER, "/settings tz America/New_York")
    await h.command(NY_USER, "/settings time 08:30")
    await post(h, 10, "Это был жест доброй воли.", at(24, 20))
    await post(h, 11, "A tactical feint, they say.", at(24, 22))
    await post(h, 12, "Again a tactical feint.", at(25, 10))  # only in New York's period


@asynccontextmanager
async def restarted(h: Harness) -> AsyncIterator[Any]:
    """A new process: new services and application on the same database file."""
    settings = h.services.settings
    db = await open_db(settings.database())  # the same database, SQLite or PostgreSQL
    services = Services.create(settings, db, h.clock)
    app = build_application(settings, services)
    try:
        async with app:
            yield app
    finally:
        await services.close()
        await db.close()


async def test_own_time_in_another_zone_is_delivered_once_then_not_at_the_bots(
    harness: Harness,
) -> None:
    h = harness
    await setup_world(h)
    await tick(h, at(25, 6, 59))
    assert digests(h, KYIV_USER) == digests(h, NY_USER) == []
    await tick(h, at(25, 7, 0))  # 09:00 in Kyiv: the bot's time
    assert len(digests(h, KYIV_USER)) == 1 and digests(h, NY_USER) == []
    await tick(h, at(25, 13, 29))
    assert digests(h, NY_USER) == []
    h.tg.fail("sendMessage", chat_id=NY_USER, status=502, times=1)  # the network fails once
    await tick(h, at(25, 13, 30))  # 08:30 in New York
    assert digests(h, NY_USER) == []
    await tick(h, at(25, 13, 31))  # the next minute sends it, once
    (mine,) = digests(h, NY_USER)
    assert "24 Nov 08:30 – 25 Nov 08:30 (America/New_York)" in mine
    assert 'href="https://t.me/echo/12"' in mine and 'href="https://t.me/echo/11"' in mine
    assert "2026-11-25 05:00" in mine  # post 12's time, shown in New York's zone
    for minute in (32, 45):
        await tick(h, at(25, 13, minute))
    await run_job(h.app, "digest-catch-up")
    assert len(digests(h, NY_USER)) == 1 and len(digests(h, KYIV_USER)) == 1
    async with restarted(h) as app:
        await tick(h, at(25, 13, 50), app)
        await run_job(app, "daily-digest")
        assert len(digests(h, NY_USER)) == 1 and len(digests(h, KYIV_USER)) == 1
        await tick(h, at(26, 7, 0), app)
        assert len(digests(h, KYIV_USER)) == 2 and len(digests(h, NY_USER)) == 1
        await tick(h, at(26, 13, 30), app)
        assert len(digests(h, NY_USER)) == 2
    rows = await h.db.fetchall(
        "SELECT period, status FROM deliveries WHERE chat_id = ? ORDER BY period", (NY_USER,)
    )
    assert [tuple(r) for r in rows] == [("2026-11-25", "sent"), ("2026-11-26", "sent")]


async def test_moving_the_time_later_on_a_delivered_day_sends_no_second_digest(
    harness: Harness,
) -> None:
    h = harness
    await setup_world(h)
    await tick(h, at(25, 7, 0))
    h.clock.now = at(25, 8, 0)
    await h.command(KYIV_USER, "/settings time 20:00")
    await tick(h, at(25, 18, 0))  # 20:00 in Kyiv, on a local day already delivered
    assert len(digests(h, KYIV_USER)) == 1
    await tick(h, at(26, 17, 59))
    assert len(digests(h, KYIV_USER)) == 1
    await tick(h, at(26, 18, 0))
    assert len(digests(h, KYIV_USER)) == 2
    assert "25 Nov 20:00 – 26 Nov 20:00 (Europe/Kyiv)" in digests(h, KYIV_USER)[1]


async def test_the_framing_filter_restricts_what_the_digest_shows(harness: Harness) -> None:
    h = harness
    await setup_world(h)
    await h.command(NY_USER, "/settings tz default")
    await h.command(NY_USER, "/settings time default")
    await h.command(NY_USER, "/settings framings feint")
    await tick(h, at(25, 7, 0))
    (everything,) = digests(h, KYIV_USER)
    (filtered,) = digests(h, NY_USER)
    assert "goodwill-gesture" in everything and "feint" in everything
    assert "<b>feint</b> — 1 post in 1 channel" in filtered
    assert "goodwill-gesture" not in filtered and "echo/10" not in filtered
    assert "echo/11" in filtered


async def test_compact_is_one_message_with_counts_status_and_first_link(harness: Harness) -> None:
    h = harness
    await h.grant_roles()
    words = ["apple", "banana", "cherry", "grape", "lemon", "mango", "olive", "peach"]
    for word in words:
        await h.command(MODERATOR, f"/watch fruit-{word} {word}")
    await h.push(my_chat_member(CHANNEL, "Echo", "echo", user_id=MODERATOR))
    h.clock.now = at(24, 12)
    for chat in (KYIV_USER, NY_USER):
        await h.command(chat, "/subscribe")
    await h.command(NY_USER, "/settings compact on")
    filler = " ".join(["Long reporting sentence about the situation on the ground"] * 4)
    message_id = 100
    for index, word in enumerate(words):
        for n in range(4):
            message_id += 1
            text = f"{filler} and then the {word} appears in it {filler}."
            await post(h, message_id, text, at(24, 13 + index, n))
    before = len(h.tg.sent_to(KYIV_USER))
    await tick(h, at(25, 7, 0))
    full = h.tg.sent_to(KYIV_USER)[before:]
    assert len(full) >= 2  # the same period in the full form takes several messages
    (compact,) = digests(h, NY_USER)
    assert units(compact) <= MAX_TEXT and "(compact)" in compact
    lines = compact.split("\n")[1:]
    assert len(lines) == len(words)
    for word in words:
        (line,) = [x for x in lines if f"fruit-{word}" in x]
        assert "4 posts in 1 channel" in line and " · new" in line  # how it stands
        newest = 100 + words.index(word) * 4 + 4
        assert f'href="https://t.me/echo/{newest}"' in line  # its first link, the newest post
    assert len(h.tg.sent_to(NY_USER)) == 3  # the /subscribe and /settings replies, the digest


async def test_digest_command_follows_the_chats_settings(harness: Harness) -> None:
    h = harness
    await setup_world(h)
    await h.command(NY_USER, "/settings tz Asia/Tokyo")
    await h.command(NY_USER, "/settings compact on")
    await h.command(NY_USER, "/settings framings feint")
    h.clock.now = at(25, 11, 0)
    await run_job(h.app, "scan")
    (mine,) = await h.command(NY_USER, "/digest")
    assert "(compact)" in mine and "(Asia/Tokyo)" in mine
    assert "24 Nov 20:00 – 25 Nov 20:00 (Asia/Tokyo)" in mine
    assert "feint" in mine and "goodwill" not in mine and "2 posts in 1 channel" in mine
    (theirs,) = await h.command(KYIV_USER, "/digest")
    assert "(Europe/Kyiv)" in theirs and "goodwill-gesture" in theirs and "(compact)" not in theirs
    assert await h.db.fetchval("SELECT count(*) FROM deliveries") == 0  # not the daily one


def test_compact_keeps_to_one_message_and_counts_what_does_not_fit() -> None:
    start, end = at(24, 7), at(25, 7)
    post = DigestPost(1, 2, "Chan", "chan", "https://t.me/chan/2", end, "", "x", "")
    framings = tuple(
        FramingSummary(f"slug-{n:03d}", "T" * 200, 3, 2, True, 3, (post,)) for n in range(300)
    )
    message = render_compact(Digest(start, end, framings), ZoneInfo("UTC"))
    assert units(message) <= MAX_TEXT
    shown = [line for line in message.split("\n") if line.startswith("• ")]
    last = message.split("\n")[-1]
    assert last == f"…and {300 - len(shown)} more framings: /settings compact off lists all"
    assert 0 < len(shown) < 300 and all('href="https://t.me/chan/2"' in s for s in shown)
    empty = render_compact(Digest(start, end, ()), ZoneInfo("UTC"))
    assert "No framings were matched" in empty and units(empty) <= MAX_TEXT


async def test_storage_due_counts_pending_as_due_and_fills_in_defaults(harness: Harness) -> None:
    """What `due` promises, by value: the bot's schedule for chats without their own, a
    pending (interrupted) delivery still due so it resumes, sent or failed ones not."""
    h = harness
    repo = SubscriberSettingsRepository(h.db)
    subscribed = at(20, 0)
    for chat in (1, 2, 3, 4, 5, 6):
        await h.services.subscribers.subscribe(chat, subscribed)
    await h.services.subscribers.subscribe(7, at(25, 8))  # after the period's end
    await h.services.subscribers.unsubscribe(6, subscribed)
    await repo.set_value(4, "tz", "UTC", None, subscribed)
    await repo.set_value(5, "compact", True, None, subscribed)
    for chat, status in ((2, "pending"), (3, "sent")):
        await h.services.deliveries.claim(chat, "2026-11-25", ["x"], subscribed)
        await h.services.deliveries.progress(chat, "2026-11-25", 0, status, subscribed)
    defaults = ("09:00", "Europe/Kyiv")
    assert await repo.schedules(*defaults) == [("09:00", "Europe/Kyiv"), ("09:00", "UTC")]
    kyiv = DuePeriod("09:00", "Europe/Kyiv", "2026-11-25", at(25, 7))
    utc = DuePeriod("09:00", "UTC", "2026-11-25", at(25, 9))
    found = await repo.due([kyiv, utc], defaults)
    assert [(due.timezone, prefs.chat_id) for due, prefs in found] == [
        ("Europe/Kyiv", 1),
        ("Europe/Kyiv", 2),
        ("UTC", 4),
        ("Europe/Kyiv", 5),
    ]
    assert found[3][1] == SubscriberPrefs(5, compact=True)
    assert found[2][1] == SubscriberPrefs(4, timezone="UTC")


async def test_the_minute_job_is_scheduled_with_grace_and_coalescing(harness: Harness) -> None:
    (job,) = harness.app.job_queue.get_jobs_by_name("digest-minute")
    assert job.job.trigger.interval.total_seconds() == 60
    assert job.job.misfire_grace_time == 3600 and job.job.coalesce is True


async def test_a_flood_wait_beyond_the_retries_is_sent_once_the_next_minute(
    harness: Harness,
) -> None:
    h = harness
    await setup_world(h)
    # The rate limiter retries a 429 three times; the fourth gives up: postponed.
    h.tg.fail("sendMessage", chat_id=NY_USER, status=429, retry_after=1, times=4)
    await tick(h, at(25, 13, 30))
    assert digests(h, NY_USER) == []
    assert len([r for r in h.tg.requests_for("sendMessage") if r.status == 429]) == 4
    delivery = await h.services.deliveries.get(NY_USER, "2026-11-25")
    assert delivery is not None and delivery.status == "pending"  # recorded, not yet sent
    await tick(h, at(25, 13, 31))
    await tick(h, at(25, 13, 32))
    assert len(digests(h, NY_USER)) == 1
