"""Claimed scans (bot/work_scan.py, storage/scan_claims.py) on SQLite and PostgreSQL: claims
never overlap, a lapsed lease is taken over, a batch matched under older rules is dropped,
and the claimed steps find exactly what one plain scan finds."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.context import Services
from bot.framings import check_new_term
from bot.scan import RulesCache, run_scan
from bot.work_scan import Claimant, ScanWork, rescan_step, run_claimed_scan, scan_batch, scan_step
from storage.backend import Backend
from storage.db import open_backend
from storage.models import IncomingPost, PostToScan
from storage.scan_claims import ScanClaims
from tests.conftest import DB_FILE, FakeClock
from tests.counting_db import CountingDatabase

CHANNEL = -1001234567890
LEASE = timedelta(seconds=60)
TEXTS = [
    "A goodwill gesture, they said.",
    "The organized withdrawal went to plan.",
    "Weather: rain, and a goodwill gesture of sorts.",
    "Nothing to see here.",
]


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Every test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


def services_for(db: Backend, tmp_path: Path, clock: FakeClock) -> Services:
    settings = Settings(_env_file=None, bot_token="123:TEST", db_path=str(tmp_path / DB_FILE))
    return Services.create(settings, db, clock)


def work_for(db: Backend, clock: FakeClock, holder: str, batch: int = 10) -> ScanWork:
    """A claimant of its own (its own RulesCache), as another process would be."""
    services = Services.create(Settings(_env_file=None, bot_token="1:T"), db, clock)
    return ScanWork(
        services.framings,
        services.matches,
        ScanClaims(db),
        RulesCache(),
        clock,
        Claimant(holder, LEASE),
        batch,
    )


async def store_posts(services: Services, count: int) -> None:
    posts = [
        IncomingPost(
            chat_id=CHANNEL,
            message_id=i + 1,
            posted_at=services.clock() - timedelta(minutes=i),
            text=f"{TEXTS[i % len(TEXTS)]} (post {i})",
            channel_title="News",
            channel_username="news",
        )
        for i in range(count)
    ]
    await services.posts.store_many(posts, services.clock())


async def watch(services: Services, slug: str, text: str) -> None:
    term = check_new_term(text)
    assert (
        await services.framings.add_term(slug, term.text, term.key, 7, services.clock())
    ).term_added


async def match_keys(db: Backend) -> list[tuple[int, int, int, int]]:
    rows = await db.fetchall(
        "SELECT post_id, term_id, start_pos, end_pos FROM matches ORDER BY post_id, term_id"
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def waiting(db: Backend) -> int:
    return int(await db.fetchval("SELECT count(*) FROM post_scan WHERE needs_scan = 1"))


async def test_concurrent_claimants_never_get_the_same_posts(
    db: Backend, tmp_path: Path, clock: FakeClock
) -> None:
    services = services_for(db, tmp_path, clock)
    await store_posts(services, 200)
    claims = [ScanClaims(db) for _ in range(4)]
    now = clock()

    got = await asyncio.gather(
        *(c.claim_posts(f"p{i}", now, now + LEASE, 30) for i, c in enumerate(claims * 2))
    )

    flat = [i for ids in got for i in ids]
    assert len(flat) == len(set(flat)) == 200  # 8 claims of 30: every post, each once
    assert await claims[0].claim_posts("late", now, now + LEASE, 500) == []


async def test_a_lapsed_lease_is_taken_over_and_the_old_holder_stores_nothing(
    db: Backend, tmp_path: Path, clock: FakeClock
) -> None:
    services = services_for(db, tmp_path, clock)
    await watch(services, "goodwill-gesture", "goodwill gesture")
    await store_posts(services, 8)
    claims = ScanClaims(db)
    now = clock()
    first = await claims.claim_posts("gone", now, now + LEASE, 100)
    assert len(first) == 8
    assert await claims.claim_posts("other", now + LEASE / 2, now + LEASE, 100) == []
    posts = await claims.claimed_posts(first, "gone")

    clock.now += LEASE + timedelta(seconds=1)  # "gone" was killed: its lease lapses
    taker = work_for(db, clock, "taker")
    batch = await scan_batch(taker)

    assert batch is not None and (batch.posts, batch.scanned) == (8, 8)
    assert len(batch.new_matches) == 4
    late = await claims.store_scanned(first, posts, [], clock(), 1, "gone")
    assert late == []  # the former holder's late store keeps nothing, removes nothing
    assert len(await match_keys(db)) == 4 and await waiting(db) == 0


async def test_a_claimed_post_another_scan_stored_first_keeps_its_matches(
    db: Backend, tmp_path: Path, clock: FakeClock
) -> None:
    """A plain scan (run_scan, which takes no claims) stores claimed posts before their
    holder reads them: the holder reads none, and its store must not wipe their matches."""
    services = services_for(db, tmp_path, clock)
    await watch(services, "goodwill-gesture", "goodwill gesture")
    await store_posts(services, 8)
    claims = ScanClaims(db)
    now = clock()
    ids = await claims.claim_posts("w1", now, now + LEASE, 100)
    await run_scan(services.framings, services.matches, clock)  # marks and matches all 8
    stored = await match_keys(db)
    assert len(stored) == 4

    posts = await claims.claimed_posts(ids, "w1")
    assert posts == []  # scanned meanwhile: nothing left to read for the holder
    assert await claims.store_scanned(ids, posts, [], clock(), 1, "w1") == []
    assert await match_keys(db) == stored and await waiting(db) == 0
    assert await claims.claim_posts("w2", clock(), clock() + LEASE, 100) == []  # let go


async def test_a_batch_matched_under_older_rules_is_dropped_and_redone(
    db: Backend, tmp_path: Path, clock: FakeClock
) -> None:
    services = services_for(db, tmp_path, clock)
    await watch(services, "goodwill-gesture", "goodwill gesture")
    await store_posts(services, 8)
    work = work_for(db, clock, "w1")
    compiled = await work.rules.current(work.framings)
    now = clock()
    ids = await work.claims.claim_posts("w1", now, now + LEASE, 100)
    posts = await work.claims.claimed_posts(ids, "w1")
    await watch(services, "organized-withdrawal", "organized withdrawal")  # rules change

    stale = await work.claims.store_scanned(ids, posts, [], clock(), compiled.version, "w1")

    assert stale is None and await waiting(db) == 8 and await match_keys(db) == []
    report = await run_claimed_scan(work_for(db, clock, "w2"))  # the claims were let go
    assert report.posts_scanned == 8 and len(report.new_matches) == 6  # 4 + 2 hits
    assert await waiting(db) == 0


async def test_a_rescan_under_a_claim_is_not_taken_by_another(
    db: Backend, tmp_path: Path, clock: FakeClock
) -> None:
    services = services_for(db, tmp_path, clock)
    await store_posts(services, 25)
    await run_claimed_scan(work_for(db, clock, "w0"))
    await watch(services, "goodwill-gesture", "goodwill gesture")
    one, two = work_for(db, clock, "w1"), work_for(db, clock, "w2")
    compiled = await one.rules.current(one.framings)
    now = clock()
    held = await one.claims.claim_rescan("w1", now, now + LEASE, compiled.version)
    assert len(held) == 1

    assert await rescan_step(two) is None  # held by w1
    clock.now += LEASE + timedelta(seconds=1)
    steps = [await rescan_step(two) for _ in range(3)]  # w1 lapsed: w2 takes it over

    assert [s.posts if s else None for s in steps] == [10, 10, 5]
    assert steps[2] is not None and steps[2].terms_finished == 1
    assert await rescan_step(two) is None
    assert len(await match_keys(db)) == 13  # posts 0, 2, 4, ... have the term


async def test_claimed_steps_find_exactly_what_one_scan_finds(
    db: Backend, tmp_path: Path, clock: FakeClock, backend_target: str
) -> None:
    services = services_for(db, tmp_path, clock)
    await watch(services, "goodwill-gesture", "goodwill gesture")
    await store_posts(services, 120)
    await watch(services, "organized-withdrawal", "organized withdrawal")
    others = [await open_backend(backend_target) for _ in range(2)]
    try:
        steppers = [services_for(o, tmp_path, clock) for o in others]

        async def loop(s: Services) -> int:
            done = 0
            while n := await scan_step(s, None):  # type: ignore[arg-type]
                done += n
            return done

        await asyncio.gather(*(loop(s) for s in steppers))
    finally:
        for other in others:
            await other.close()
    claimed = await match_keys(db)
    assert await waiting(db) == 0 and claimed
    await db_reset(db)
    await run_scan(services.framings, services.matches, services.clock)
    assert await match_keys(db) == claimed


async def db_reset(db: Backend) -> None:
    async with db.atomic() as tx:
        await tx.execute("DELETE FROM matches")
        await tx.execute("UPDATE post_scan SET needs_scan = 1, scanned_version = 0")
        await tx.execute("UPDATE terms SET backfilled = 0, rescanned_through = 0")


async def test_the_leaders_scan_leaves_what_a_worker_holds(
    db: Backend, tmp_path: Path, clock: FakeClock
) -> None:
    services = services_for(db, tmp_path, clock)
    await watch(services, "goodwill-gesture", "goodwill gesture")
    await store_posts(services, 40)
    worker = ScanClaims(db)
    now = clock()
    held = await worker.claim_posts("worker", now, now + LEASE, 15)

    report = await run_claimed_scan(ScanWork.of(services, batch=10))

    assert report.posts_scanned == 25 and await waiting(db) == 15
    left = await db.fetchall("SELECT post_id FROM post_scan WHERE needs_scan = 1 ORDER BY 1")
    assert [r[0] for r in left] == held


async def test_rules_changing_mid_step_keep_the_stored_batch_and_free_the_rest(
    db: Backend, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.work_scan.PIPELINE", 4)  # a step of four batches, whatever it is
    services = services_for(db, tmp_path, clock)
    await watch(services, "goodwill-gesture", "goodwill gesture")
    await store_posts(services, 40)

    class ChangingRules(ScanClaims):
        """A moderator adds a term while the step reads its third batch."""

        reads = 0

        async def claimed_posts(self, ids: Sequence[int], holder: str) -> list[PostToScan]:
            self.reads += 1
            if self.reads == 3:
                await watch(services, "organized-withdrawal", "organized withdrawal")
            return await super().claimed_posts(ids, holder)

    work = work_for(db, clock, "w1")
    work = dataclasses.replace(work, claims=ChangingRules(db))

    done = await scan_batch(work)  # batches of 10: four at once

    # The second batch's store may commit before the change (it was under way: PostgreSQL)
    # or after it (then dropped, as the third and fourth are).
    assert done is not None and done.posts == 40 and done.scanned in (10, 20)
    assert await waiting(db) == 40 - done.scanned
    held = await db.fetchval("SELECT count(*) FROM post_scan WHERE claimed_by IS NOT NULL")
    assert held == 0  # the rest was let go at once, not at the lease's end
    report = await run_claimed_scan(work_for(db, clock, "w2"))
    assert report.posts_scanned == 40 - done.scanned and await waiting(db) == 0


async def test_an_idle_step_takes_no_write_transaction(tmp_path: Path, clock: FakeClock) -> None:
    """Idle workers ask every few seconds: with nothing free to claim they only read (on
    PostgreSQL every write transaction takes the write lock)."""
    counted = await CountingDatabase.open(tmp_path / "counted.db")
    try:
        services = services_for(counted, tmp_path, clock)
        await watch(services, "goodwill-gesture", "goodwill gesture")
        await store_posts(services, 5)
        assert await scan_step(services, None) == 5  # type: ignore[arg-type]
        assert await scan_step(services, None) == 1  # type: ignore[arg-type]  # the rescan ends
        counted.calls.clear()

        assert await scan_step(services, None) == 0  # type: ignore[arg-type]
        assert await services.follows.claim_due("me", clock(), clock() + LEASE, 3) == []

        assert counted.calls["atomic"] == 0
    finally:
        await counted.close()
