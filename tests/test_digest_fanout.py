"""The daily digest fanned out to many subscribers at once, with flood waits and a crash."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

from bot.context import Services
from bot.delivery import CONCURRENT_SENDS, deliver_daily
from storage.db import Database
from storage.subscribers import DeliveryRepository, SubscriberRepository
from tests.conftest import Harness

PERIOD = "2026-11-25"
DIGEST_TIME = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 09:00 Europe/Kyiv


async def subscribe(h: Harness, count: int) -> list[int]:
    chats = list(range(5001, 5001 + count))
    for chat in chats:
        await h.services.subscribers.subscribe(chat, datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    return chats


def digests_per_chat(h: Harness) -> Counter[int]:
    return Counter(m.chat_id for m in h.tg.sent if "FrameWatch digest" in m.text)


async def test_fan_out_to_200_subscribers_with_flood_waits_sends_each_digest_once(
    harness: Harness,
) -> None:
    chats = await subscribe(harness, 200)
    for chat in chats[::40]:  # five subscribers' first attempt hits a flood wait
        harness.tg.fail("sendMessage", chat_id=chat, status=429, retry_after=1, times=1)
    harness.tg.fail("sendMessage", status=429, retry_after=1, times=2)  # whoever comes next
    harness.clock.now = DIGEST_TIME
    report = await deliver_daily(harness.app.bot, harness.services)
    assert report.sent == chats and not report.postponed and not report.failed
    assert digests_per_chat(harness) == Counter(dict.fromkeys(chats, 1))
    flood_waits = [r for r in harness.tg.requests_for("sendMessage") if r.status == 429]
    assert len(flood_waits) == 7
    rows = await harness.db.fetchall(
        "SELECT status, sent_count, count(*) FROM deliveries WHERE period = ?"
        " GROUP BY status, sent_count",
        (PERIOD,),
    )
    assert [tuple(r) for r in rows] == [("sent", 1, 200)]
    # Run again (the catch-up job): nothing is due, nothing is sent.
    again = await deliver_daily(harness.app.bot, harness.services)
    assert again.sent == [] and digests_per_chat(harness) == Counter(dict.fromkeys(chats, 1))


async def test_a_restart_midway_through_a_fan_out_sends_the_rest_without_repeating(
    harness: Harness,
) -> None:
    chats = await subscribe(harness, 120)
    harness.clock.now = DIGEST_TIME
    first_run = asyncio.create_task(deliver_daily(harness.app.bot, harness.services))
    await harness.tg.wait_for_sent(50)
    first_run.cancel()  # the process dies here, with sends in flight
    await asyncio.gather(first_run, return_exceptions=True)
    before_crash = digests_per_chat(harness)
    recorded = {
        r[0]
        for r in await harness.db.fetchall(
            "SELECT chat_id FROM deliveries WHERE period = ? AND sent_count = 1", (PERIOD,)
        )
    }
    assert 50 <= len(before_crash) < len(chats)
    assert recorded <= set(before_crash)  # nothing is recorded as sent that was not
    # Sent but not yet recorded: only the sends in flight when the process died, whose
    # answers never arrived (the TimedOut ambiguity). Everything else is on record.
    in_flight = set(before_crash) - recorded
    assert len(in_flight) <= CONCURRENT_SENDS

    restarted = Services.create(harness.services.settings, harness.db, harness.clock)
    report = await deliver_daily(harness.app.bot, restarted)
    assert set(report.sent) == set(chats) - recorded
    after = digests_per_chat(harness)
    assert set(after) == set(chats)  # nobody is left out
    assert {chat for chat, n in after.items() if n > 1} <= in_flight
    assert all(after[chat] == 1 for chat in recorded)


async def test_a_period_digest_is_stored_once_and_older_rows_keep_their_own_text(
    db: Database,
) -> None:
    subscribers, deliveries = SubscriberRepository(db), DeliveryRepository(db)
    now = DIGEST_TIME
    for chat in (1, 2, 3, 4):
        await subscribers.subscribe(chat, now)
    async with db.transaction() as conn:  # a row as written before digest_texts existed
        await conn.execute(
            "INSERT INTO deliveries (chat_id, period, messages, created_at, updated_at)"
            " VALUES (4, ?, '[\"old text\"]', '', '')",
            (PERIOD,),
        )
    claimed = await deliveries.claim_many([1, 2, 3, 4], PERIOD, ["part 1", "part 2"], now)
    assert [d.messages for d in claimed] == [("part 1", "part 2")] * 3 + [("old text",)]
    assert await db.fetchval("SELECT count(*) FROM digest_texts") == 1
    assert await db.fetchval("SELECT count(*) FROM deliveries WHERE messages <> ''") == 1
    await deliveries.claim_many([1, 2], "2026-11-26", ["part 1", "part 2"], now)
    assert await db.fetchval("SELECT count(*) FROM digest_texts") == 1  # same text, same row
    got = await deliveries.get(4, PERIOD)
    assert got is not None and got.messages == ("old text",)
