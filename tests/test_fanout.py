"""The digest fanned out through leases (bot/fanout.py), in one process, on SQLite and
PostgreSQL: flood waits postpone rows, a row taken over in flight is not sent twice, and the
worker loop (bot/worker.py) survives a failing step. The processes killed midway are in
tests/test_fanout_processes.py."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram.ext import ExtBot

from bot.context import Services
from bot.fanout import LEASE_BATCH, fan_out_batch, plan_due
from bot.worker import run_steps, worker_bot
from storage.backend import Backend
from storage.delivery_leases import Progress
from tests.conftest import FakeClock, Harness, make_settings
from tests.fake_telegram import FakeTelegram
from tests.test_e2e_trends import PNG, TODAY, scan, setup_world

DIGEST_TIME = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 09:00 Europe/Kyiv
PERIOD = "2026-11-25"


@pytest.fixture
async def services(
    any_db: Backend, tg: FakeTelegram, tmp_path: Path
) -> AsyncIterator[tuple[Services, ExtBot[None]]]:
    settings = make_settings(tmp_path, tg.base_url, lease_seconds=5)
    services = Services.create(settings, any_db, FakeClock(DIGEST_TIME))
    async with worker_bot(settings) as bot:
        yield services, bot
    await services.close()


async def subscribe(services: Services, count: int) -> list[int]:
    chats = list(range(5001, 5001 + count))
    for chat in chats:
        await services.subscribers.subscribe(chat, datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    return chats


def digests_per_chat(tg: FakeTelegram) -> Counter[int]:
    return Counter(m.chat_id for m in tg.sent if "FrameWatch digest" in m.text)


async def send_all(services: Services, bot: ExtBot[None]) -> int:
    rows = 0
    while done := await fan_out_batch(services, bot):
        rows += done
    return rows


async def test_flood_waits_postpone_rows_and_each_digest_goes_out_once(
    services: tuple[Services, ExtBot[None]], tg: FakeTelegram
) -> None:
    app, bot = services
    chats = await subscribe(app, 200)
    for chat in chats[::40]:  # five subscribers' first attempt hits a flood wait
        tg.fail("sendMessage", chat_id=chat, status=429, retry_after=3, times=1)
    assert await plan_due(app, DIGEST_TIME) == 200
    assert await plan_due(app, DIGEST_TIME) == 200  # planned again: the same rows
    assert await send_all(app, bot) == 200
    assert sorted(digests_per_chat(tg)) == sorted(set(chats) - set(chats[::40]))
    assert await send_all(app, bot) == 0  # the postponed wait for their flood wait
    assert isinstance(app.clock, FakeClock)
    app.clock.now += timedelta(seconds=3)
    assert await send_all(app, bot) == 5
    assert digests_per_chat(tg) == Counter(dict.fromkeys(chats, 1))
    rows = await app.db.fetchall(
        "SELECT status, sent_count, sending, count(*) FROM deliveries"
        " WHERE claimed_by IS NULL GROUP BY status, sent_count, sending"
    )
    assert [tuple(r) for r in rows] == [("sent", 1, 0, 200)]


async def test_a_row_taken_over_in_flight_is_counted_sent_not_sent_again(
    services: tuple[Services, ExtBot[None]], tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    app, bot = services
    chats = await subscribe(app, 100)
    await plan_due(app, DIGEST_TIME)
    # A process leased a batch, marked three rows in flight and died.
    deliveries = app.deliveries
    until = DIGEST_TIME + timedelta(seconds=5)
    dead = await deliveries.lease("dead", DIGEST_TIME, until, 10, DIGEST_TIME)
    in_flight = [d.chat_id for d in dead[:3]]
    marks = [Progress(chat, PERIOD, 0, sending=True) for chat in in_flight]
    assert len(await deliveries.record("dead", marks, DIGEST_TIME)) == 3
    # Until its lease expires its rows are not anybody else's.
    assert await send_all(app, bot) == 90
    assert isinstance(app.clock, FakeClock)
    app.clock.now = until + timedelta(seconds=1)
    assert await send_all(app, bot) == 10
    got = digests_per_chat(tg)
    assert set(got) == set(chats) - set(in_flight)
    assert set(got.values()) == {1}
    statuses = await app.db.fetchall("SELECT DISTINCT status, sent_count FROM deliveries")
    assert [tuple(r) for r in statuses] == [("sent", 1)]
    assert caplog.text.count("counted as sent, not sent again") == 3


async def test_lease_batches_share_the_fan_out_between_processes(
    services: tuple[Services, ExtBot[None]], tg: FakeTelegram
) -> None:
    app, bot = services
    other = Services.create(app.settings, app.db, app.clock)  # another process's name
    chats = await subscribe(app, 3 * LEASE_BATCH)
    await plan_due(app, DIGEST_TIME)
    done = await asyncio.gather(send_all(app, bot), send_all(other, bot))
    assert sum(done) == len(chats)
    assert digests_per_chat(tg) == Counter(dict.fromkeys(chats, 1))


async def test_the_worker_loop_logs_a_failing_step_and_goes_on(
    services: tuple[Services, ExtBot[None]], caplog: pytest.LogCaptureFixture
) -> None:
    app, bot = services
    stop = asyncio.Event()
    rounds: list[str] = []

    async def broken(services: Services, bot: ExtBot[None]) -> int:
        rounds.append("broken")
        raise RuntimeError("boom")

    async def counting(services: Services, bot: ExtBot[None]) -> int:
        rounds.append("counting")
        if rounds.count("counting") == 3:
            stop.set()
        return 1

    async with asyncio.timeout(30):
        await run_steps(app, bot, stop, (broken, counting))
    assert rounds == ["broken", "counting"] * 3
    assert caplog.text.count("worker step broken failed; going on") == 3
    assert caplog.records[0].levelno == logging.ERROR


async def test_a_leased_digest_takes_its_chart_along_once(harness: Harness) -> None:
    """As tests/test_e2e_trends.py's digest with a chart, sent through leases (on SQLite:
    the leased path is the same code on either database)."""
    await setup_world(harness)
    harness.clock.now = TODAY - timedelta(hours=6)
    await harness.command(101, "/subscribe")
    harness.clock.now = TODAY
    await scan(harness)
    harness.clock.now = datetime(2026, 11, 26, 7, 0, 5, tzinfo=UTC)  # 09:00 in Kyiv
    app = harness.services
    assert await plan_due(app, harness.clock.now) == 1
    assert await send_all(app, harness.app.bot) == 1
    assert len([m for m in harness.tg.sent_to(101) if "FrameWatch digest" in m.text]) == 1
    (chart,) = harness.tg.photos
    assert chart.chat_id == 101 and chart.photo.startswith(PNG)
    other = Services.create(app.settings, app.db, harness.clock)  # another process
    assert await plan_due(other, harness.clock.now) == 0
    assert await send_all(other, harness.app.bot) == 0
    assert len(harness.tg.photos) == 1
