"""Scan and digest delivery through the real application, with the job callbacks run directly."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.context import Services
from bot.delivery import deliver_daily
from tests.conftest import MODERATOR, Harness
from tests.fake_telegram import channel_post, my_chat_member

PUBLIC, PRIVATE = -1001000000001, -1001000000002
SUBSCRIBERS = (101, 102, 103)


def ts(day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(2026, 11, day, hour, minute, tzinfo=UTC).timestamp())


async def run_job(h: Harness, name: str) -> None:
    assert h.app.job_queue is not None
    (job,) = h.app.job_queue.get_jobs_by_name(name)
    await job.run(h.app)


async def setup_world(h: Harness) -> None:
    """Framings, subscribers (before the digest time) and posts around the 2026-11-25 period.

    Digest time 09:00 Europe/Kyiv = 07:00 UTC: the period is [24 Nov 07:00, 25 Nov 07:00) UTC.
    """
    await h.grant_roles()
    await h.command(MODERATOR, "/watch goodwill-gesture жест доброй воли")
    await h.command(MODERATOR, "/watch feint tactical feint")
    h.clock.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    for chat in SUBSCRIBERS:
        await h.command(chat, "/subscribe")
    posts = [
        channel_post(
            PUBLIC,
            10,
            "Новости. Это был «жест доброй воли»! Далее.",
            date=ts(24, 20),
            username="echo",
            title="Echo <demo>",
        ),
        channel_post(PRIVATE, 20, "Жест — доброй воли, и точка.", date=ts(25, 6), title="Private"),
        channel_post(
            PUBLIC,
            30,
            "Weather today: sunny.",
            date=ts(24, 21),
            username="echo",
            title="Echo <demo>",
        ),
        channel_post(
            PUBLIC,
            40,
            "A tactical feint, they say.",
            date=ts(25, 8),
            username="echo",
            title="Echo <demo>",
        ),
        channel_post(
            PUBLIC,
            5,
            "Ещё раз: жест доброй воли.",
            date=ts(22, 10),
            username="echo",
            title="Echo <demo>",
        ),
    ]
    # A moderator added the bot to both channels: they count without approval.
    await h.push(my_chat_member(PUBLIC, "Echo <demo>", "echo", user_id=MODERATOR))
    await h.push(my_chat_member(PRIVATE, "Private", None, user_id=MODERATOR))
    for payload in posts:
        await h.push(payload)


async def test_scan_job_flags_posts_and_new_terms_apply_to_stored_posts(harness: Harness) -> None:
    await setup_world(harness)
    await run_job(harness, "scan")
    rows = await harness.db.fetchall(
        # CAST: PostgreSQL's substr takes integers, the positions are BIGINT there.
        "SELECT p.message_id, f.slug, substr(p.text, CAST(m.start_pos + 1 AS INTEGER),"
        " CAST(m.end_pos - m.start_pos AS INTEGER))"
        " FROM matches m JOIN posts p ON p.id = m.post_id JOIN framings f ON f.id = m.framing_id"
        " ORDER BY p.message_id"
    )
    assert [tuple(r) for r in rows] == [
        (5, "goodwill-gesture", "жест доброй воли"),
        (10, "goodwill-gesture", "жест доброй воли"),
        (20, "goodwill-gesture", "Жест — доброй воли"),
        (40, "feint", "tactical feint"),
    ]
    await harness.command(MODERATOR, "/watch weather sunny")
    await run_job(harness, "scan")
    assert (
        "1 posts matched"
        in (await harness.command(MODERATOR, "/framings"))[0].split("<b>weather</b>")[1]
    )


async def test_daily_digest_is_delivered_once_per_period(harness: Harness) -> None:
    await setup_world(harness)
    harness.clock.now = datetime(2026, 11, 25, 7, 0, 5, tzinfo=UTC)
    await run_job(harness, "daily-digest")
    for chat in SUBSCRIBERS:
        (message,) = [m for m in harness.tg.sent_to(chat) if "FrameWatch digest" in m.text]
        assert message.parse_mode == "HTML"
        text = message.text
        assert "24 Nov 09:00 – 25 Nov 09:00 (Europe/Kyiv)" in text
        assert "2 posts in 2 channels" in text and "recurring: 3 of the last 7 days" in text
        assert "<b>жест доброй воли</b>" in text and "Echo &lt;demo&gt;" in text
        assert 'href="https://t.me/echo/10"' in text
        assert 'href="https://t.me/c/1000000002/20"' in text
        assert "Weather" not in text and "tactical feint" not in text  # outside the period
        assert "Новости." not in text  # only the sentence around the match
    sent = len(harness.tg.sent)
    await run_job(harness, "daily-digest")
    await run_job(harness, "digest-catch-up")
    # A restart: new services on the same database send nothing more for this period.
    restarted = Services.create(harness.services.settings, harness.db, harness.clock)
    report = await deliver_daily(harness.app.bot, restarted)
    assert report.sent == [] and len(harness.tg.sent) == sent


async def test_blocked_subscriber_is_deactivated_and_others_still_get_theirs(
    harness: Harness,
) -> None:
    await setup_world(harness)
    harness.tg.fail("sendMessage", chat_id=102, status=403, times=None)
    harness.tg.fail("sendMessage", chat_id=103, status=429, retry_after=1, times=1)
    harness.clock.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    report = await deliver_daily(harness.app.bot, harness.services)
    assert report.sent == [101, 103] and report.deactivated == [102]
    assert len(harness.tg.sent_to(101)) == 2  # the /subscribe reply and the digest
    assert len(harness.tg.sent_to(103)) == 2  # flood wait retried by the rate limiter, once
    assert not await harness.services.subscribers.is_active(102)
    assert await harness.services.subscribers.is_active(101)


async def test_a_bad_request_keeps_the_subscriber_and_a_migrated_group_is_deactivated(
    harness: Harness,
) -> None:
    """Classified by the error's kind (status and parameters), not by its wording: a 400
    worded like a gone chat still keeps the subscriber; a group that became a supergroup
    (400 with migrate_to_chat_id) is deactivated with where it went."""
    await setup_world(harness)
    harness.tg.fail("sendMessage", chat_id=101, status=400, times=None)  # "chat not found"
    harness.tg.fail(
        "sendMessage",
        chat_id=102,
        status=400,
        times=None,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=-1009999,
    )
    harness.clock.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    report = await deliver_daily(harness.app.bot, harness.services)
    assert report.failed == [101] and report.deactivated == [102] and report.sent == [103]
    assert await harness.services.subscribers.is_active(101)
    assert not await harness.services.subscribers.is_active(102)
    for chat in (101, 102):
        delivery = await harness.services.deliveries.get(chat, "2026-11-25")
        assert delivery is not None and delivery.status == "failed"


async def test_network_failure_postpones_and_the_catch_up_sends_once(harness: Harness) -> None:
    await setup_world(harness)
    harness.tg.fail("sendMessage", chat_id=101, status=502, times=1)
    harness.clock.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    report = await deliver_daily(harness.app.bot, harness.services)
    assert report.postponed == [101] and report.sent == [102, 103]
    await run_job(harness, "digest-catch-up")
    digests = [m for m in harness.tg.sent_to(101) if "FrameWatch digest" in m.text]
    assert len(digests) == 1
    assert await harness.services.subscribers.is_active(101)


async def test_a_digest_missed_while_down_is_sent_once_at_start(harness: Harness) -> None:
    await setup_world(harness)
    # Down from the 24th until the 27th at 15:00 UTC: the latest period is the 27th's.
    harness.clock.now = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    await run_job(harness, "digest-catch-up")
    await run_job(harness, "digest-catch-up")
    for chat in SUBSCRIBERS:
        digests = [m.text for m in harness.tg.sent_to(chat) if "FrameWatch digest" in m.text]
        assert len(digests) == 1, digests
        assert (
            "No framings were matched" in digests[0] and "26 Nov 09:00 – 27 Nov 09:00" in digests[0]
        )
    delivery = await harness.services.deliveries.get(101, "2026-11-27")
    assert delivery is not None and delivery.status == "sent"


async def test_subscribers_after_the_digest_time_wait_for_the_next_one(harness: Harness) -> None:
    await setup_world(harness)
    harness.clock.now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    await harness.command(104, "/subscribe")
    report = await deliver_daily(harness.app.bot, harness.services)
    assert 104 not in report.sent and sorted(report.sent) == list(SUBSCRIBERS)
    harness.clock.now = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    report = await deliver_daily(harness.app.bot, harness.services)
    assert 104 in report.sent


async def test_on_demand_digest_neither_counts_nor_replaces_the_daily_one(harness: Harness) -> None:
    await setup_world(harness)
    await run_job(harness, "scan")
    harness.clock.now = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)
    replies = await harness.command(101, "/digest")
    assert len(replies) == 1 and "<b>Жест — доброй воли</b>" in replies[0]
    assert "24 Nov 08:30 – 25 Nov 08:30" in replies[0]
    harness.clock.now = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    report = await deliver_daily(harness.app.bot, harness.services)
    assert 101 in report.sent


async def test_an_interrupted_delivery_resumes_without_repeating(harness: Harness) -> None:
    """Messages already sent before a crash are not sent again; the text stays the same."""
    await setup_world(harness)
    harness.clock.now = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    frozen = ["<b>part one</b>", "<b>part two</b>", "<b>part three</b>"]
    await harness.services.deliveries.claim(101, "2026-11-25", frozen, harness.clock())
    await harness.services.deliveries.progress(101, "2026-11-25", 1, "pending", harness.clock())
    before = len(harness.tg.sent_to(101))
    await deliver_daily(harness.app.bot, harness.services)
    assert [m.text for m in harness.tg.sent_to(101)[before:]] == frozen[1:]


async def test_jobs_are_scheduled_with_grace_time_and_coalescing(harness: Harness) -> None:
    assert harness.app.job_queue is not None
    jobs = {job.name: job for job in harness.app.job_queue.jobs()}
    assert {"scan", "daily-digest", "digest-catch-up", "housekeeping"} <= set(jobs)
    daily = jobs["daily-digest"].job
    assert daily.misfire_grace_time == 3600 and daily.coalesce is True
    trigger = str(daily.trigger)
    assert "hour='9'" in trigger and "minute='0'" in trigger
    assert str(daily.trigger.timezone) == "Europe/Kyiv"
    scan = jobs["scan"].job
    assert scan.trigger.interval.total_seconds() == 300


async def test_concurrent_deliveries_send_each_digest_once(harness: Harness) -> None:
    """The daily job and the catch-up job firing together must not both send."""
    import asyncio

    await setup_world(harness)
    harness.clock.now = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    await asyncio.gather(
        deliver_daily(harness.app.bot, harness.services),
        deliver_daily(harness.app.bot, harness.services),
    )
    for chat in SUBSCRIBERS:
        assert len([m for m in harness.tg.sent_to(chat) if "FrameWatch digest" in m.text]) == 1
