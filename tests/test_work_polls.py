"""Claimed web-preview polls (bot/work_polls.py) against the local t.me stand-in
(tests/fixtures/tme_s/server.py), on SQLite and PostgreSQL: two claimants polling at the
same time poll each due channel once, and a lapsed claim is taken over."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest

from bot.config import Settings
from bot.context import Services
from bot.work_polls import poll_step
from handlers.sources import poll_job
from storage.backend import Backend
from storage.db import open_backend
from storage.timeutil import from_iso
from tests.conftest import FakeClock
from tests.fixtures.tme_s.server import TmeServer

INTERVAL = timedelta(seconds=600)
NAMES = [f"fw_shared_{i}" for i in range(6)]


@pytest.fixture
async def tme() -> AsyncIterator[TmeServer]:
    async with TmeServer() as server:
        yield server


@pytest.fixture
async def second_db(backend_target: str) -> AsyncIterator[Backend]:
    """Another connection (pool) to the same database, as another process has."""
    other = await open_backend(backend_target)
    try:
        yield other
    finally:
        await other.close()


def services_for(
    db: Backend, tme: TmeServer, clock: FakeClock, lease_seconds: int = 60
) -> Services:
    settings = Settings(
        _env_file=None,
        bot_token="123:TEST",
        web_preview_url=tme.base_url,
        poll_interval_seconds=int(INTERVAL.total_seconds()),
        backfill_posts=0,
        lease_seconds=lease_seconds,
    )
    return Services.create(settings, db, clock)


async def follow_all(services: Services, tme: TmeServer) -> None:
    for name in NAMES:
        tme.channel(name, page_size=5).add(1, 2, 3)
        assert (await services.web_poller().follow(name, None)).outcome == "followed"
    tme.requests.clear()


async def steps_until_idle(services: Services) -> int:
    done = 0
    while polled := await poll_step(services, None):  # type: ignore[arg-type]
        done += polled
    return done


async def test_two_claimants_poll_each_due_channel_once(
    any_db: Backend, second_db: Backend, tme: TmeServer, clock: FakeClock
) -> None:
    one, two = services_for(any_db, tme, clock), services_for(second_db, tme, clock)
    try:
        await follow_all(one, tme)
        clock.now += INTERVAL
        tme.gate_at = 6  # t.me answers nobody until six polls are under way: both at once

        polled = await asyncio.gather(steps_until_idle(one), steps_until_idle(two))

        assert polled == [3, 3]
        assert Counter(r.name for r in tme.requests) == dict.fromkeys(NAMES, 1)
        assert tme.max_in_flight == 6
        claimed = await any_db.fetchval("SELECT count(*) FROM follows WHERE claimed_by IS NOT NULL")
        assert claimed == 0
        due = await one.follows.due(clock.now + INTERVAL / 2)
        assert due == []  # each got its next poll time
    finally:
        await one.close()
        await two.close()


async def test_a_lapsed_poll_claim_is_taken_over(
    any_db: Backend, tme: TmeServer, clock: FakeClock
) -> None:
    services = services_for(any_db, tme, clock)
    try:
        await follow_all(services, tme)
        now = clock.now
        held = await services.follows.claim_due("killed", now, now + timedelta(seconds=60), 10)
        assert len(held) == 6
        assert await poll_step(services, None) == 0  # type: ignore[arg-type]

        clock.now += timedelta(seconds=61)
        assert await steps_until_idle(services) == 6

        assert Counter(r.name for r in tme.requests) == dict.fromkeys(NAMES, 1)
    finally:
        await services.close()


async def test_the_leaders_poll_job_claims_on_postgresql_too(
    any_db: Backend, tme: TmeServer, clock: FakeClock
) -> None:
    """handlers/sources.py poll_job: claimed polls on PostgreSQL, poll_due on SQLite; either
    way it polls every due channel once and leaves one another process holds."""
    services = services_for(any_db, tme, clock)
    try:
        await follow_all(services, tme)
        clock.now += INTERVAL
        now = clock.now
        (held,) = await services.follows.claim_due("worker", now, now + INTERVAL, 1)
        context = SimpleNamespace(bot_data=SimpleNamespace(services=services))

        await poll_job(context)  # type: ignore[arg-type]

        polled = Counter(r.name for r in tme.requests)
        if any_db.dialect.is_sqlite:  # one process there: claims are not read
            assert polled == dict.fromkeys(NAMES, 1)
        else:
            assert polled == {n: 1 for n in NAMES if n != held.username}
    finally:
        await services.close()


async def test_a_poll_outlasting_its_lease_keeps_its_claim(
    any_db: Backend, tme: TmeServer, clock: FakeClock
) -> None:
    services = services_for(any_db, tme, clock, lease_seconds=5)
    other = services_for(any_db, tme, clock)
    try:
        await follow_all(services, tme)
        clock.now += INTERVAL
        tme.gate_at = 4  # t.me holds the three polls' first pages until a fourth request
        polling = asyncio.create_task(poll_step(services, None))  # type: ignore[arg-type]
        first_until = clock.now + timedelta(seconds=5)
        clock.now += timedelta(seconds=4)

        await until_true(lambda: lease_end_after(any_db, first_until))  # extended meanwhile

        clock.now += timedelta(seconds=4)  # past the first lease end, not the extended one
        polled = await any_db.fetchall(
            "SELECT username FROM follows WHERE claimed_by = ?", (services.holder,)
        )
        taken = await other.follows.claim_due("other", clock.now, clock.now + INTERVAL, 10)
        assert len(polled) == 3  # the others, not the three being polled, are free to take:
        assert {f.username for f in taken} == set(NAMES) - {r[0] for r in polled}
        async with httpx.AsyncClient() as client:  # the fourth request: t.me answers all
            await client.get(f"{tme.base_url}/{taken[0].username}")
        assert await polling == 3
    finally:
        await services.close()
        await other.close()


async def lease_end_after(db: Backend, moment: datetime) -> bool:
    ends = await db.fetchall("SELECT claimed_until FROM follows WHERE claimed_by IS NOT NULL")
    return len(ends) == 3 and all(from_iso(r[0]) > moment for r in ends)


async def until_true(check: Callable[[], Awaitable[bool]]) -> None:
    """Until another task's work shows in the database (the claims are extended on a timer
    of a third of the lease)."""
    async with asyncio.timeout(30):
        while not await check():  # noqa: ASYNC110 (a row written by another task)
            await asyncio.sleep(0.05)
