"""Real processes sharing one scan backlog (tests/scan_process.py running the claimed scan
steps of bot/work_scan.py), on PostgreSQL and on a SQLite file: together they store exactly
the matches one plain scan (bot.scan.run_scan) stores, also when one is SIGKILLed while it
holds a claim (its claims lapse after the lease and the other takes them over)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

from bot.config import Settings
from bot.context import Services
from bot.database import open_db
from bot.framings import check_new_term
from bot.scan import run_scan
from bot.work_scan import ScanWork, run_claimed_scan
from storage.backend import Backend
from storage.models import IncomingPost
from tests.conftest import FakeClock
from tests.fake_telegram import FakeTelegram
from tests.test_fanout_processes import start_worker

PROJECT = Path(__file__).resolve().parents[1]
LEASE_SECONDS = 3
CHANNEL = -1001234567890
TEXTS = [
    "A goodwill gesture, they said.",
    "The organized withdrawal went to plan.",
    "Weather: rain, and a goodwill gesture of sorts.",
    "A tactical feint near the river.",
    "Nothing to see here.",
]
TERMS = [
    ("goodwill-gesture", "goodwill gesture"),
    ("organized-withdrawal", "organized withdrawal"),
    ("feint", "tactical feint"),
    ("weather", "rain"),
]


async def backlog(db: Backend, clock: FakeClock) -> Services:
    """600 posts: 200 scanned with two terms, then two terms more (rescans) and 400 posts
    waiting for their scan."""
    services = Services.create(Settings(_env_file=None, bot_token="1:T"), db, clock)

    async def posts(first: int, count: int) -> None:
        await services.posts.store_many(
            [
                IncomingPost(
                    chat_id=CHANNEL,
                    message_id=i,
                    posted_at=clock() - timedelta(minutes=i),
                    text=f"{TEXTS[i % len(TEXTS)]} #{i}",
                    channel_title="News",
                    channel_username="news",
                )
                for i in range(first, first + count)
            ],
            clock(),
        )

    async def watch(slug: str, text: str) -> None:
        term = check_new_term(text)
        assert (await services.framings.add_term(slug, term.text, term.key, 7, clock())).term_added

    for slug, text in TERMS[:2]:
        await watch(slug, text)
    await posts(1, 200)
    await run_claimed_scan(ScanWork.of(services))
    for slug, text in TERMS[2:]:
        await watch(slug, text)
    await posts(201, 400)
    return services


async def start(url: str, tmp_path: Path, name: str, hang_at: int) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    errors = (tmp_path / f"{name}.err").open("wb")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.scan_process",
            url,
            str(LEASE_SECONDS),
            str(hang_at),
            cwd=PROJECT,
            env=env | {"PYTHONPATH": str(PROJECT)},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
        )
    finally:
        errors.close()


async def claims_seen(process: asyncio.subprocess.Process, count: int) -> None:
    """Until the process has printed `count` claims."""
    assert process.stdout is not None
    seen = 0
    async with asyncio.timeout(120):
        while seen < count:
            line = await process.stdout.readline()
            assert line, "the scan process ended early"
            seen += line.startswith(b"claimed")


async def finished(process: asyncio.subprocess.Process, tmp_path: Path, name: str) -> None:
    async with asyncio.timeout(180):
        await process.communicate()
    errors = (tmp_path / f"{name}.err").read_text(errors="replace")
    assert process.returncode == 0, errors
    assert "Traceback" not in errors


async def matches_and_single_scan(services: Services) -> tuple[list[tuple[int, ...]], ...]:
    """The matches the processes stored, then those of one plain scan of the same posts."""
    db = services.db
    query = "SELECT post_id, term_id, start_pos, end_pos FROM matches ORDER BY post_id, term_id"
    shared = [tuple(r) for r in await db.fetchall(query)]
    async with db.atomic() as tx:
        await tx.execute("DELETE FROM matches")
        await tx.execute("UPDATE post_scan SET needs_scan = 1, scanned_version = 0")
        await tx.execute("UPDATE terms SET backfilled = 0, rescanned_through = 0")
    await run_scan(services.framings, services.matches, services.clock)
    return shared, [tuple(r) for r in await db.fetchall(query)]


async def left(db: Backend) -> tuple[int, int, int]:
    row = await db.fetchone(
        "SELECT (SELECT count(*) FROM post_scan WHERE needs_scan = 1),"
        " (SELECT count(*) FROM terms WHERE backfilled = 0),"
        " (SELECT count(*) FROM post_scan WHERE claimed_by IS NOT NULL)"
    )
    assert row is not None
    return (row[0], row[1], row[2])


async def test_two_processes_store_what_one_scan_finds(
    any_db: Backend, backend_target: str, tmp_path: Path, clock: FakeClock
) -> None:
    services = await backlog(any_db, clock)
    first = await start(backend_target, tmp_path, "first", 0)
    second = await start(backend_target, tmp_path, "second", 0)
    try:
        await asyncio.gather(
            finished(first, tmp_path, "first"), finished(second, tmp_path, "second")
        )
    finally:
        for process in (first, second):
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert await left(any_db) == (0, 0, 0)
    shared, single = await matches_and_single_scan(services)
    assert len(shared) > 400 and shared == single


async def test_a_process_killed_holding_a_claim_loses_nothing(
    any_db: Backend, backend_target: str, tmp_path: Path, clock: FakeClock
) -> None:
    services = await backlog(any_db, clock)
    doomed = await start(backend_target, tmp_path, "doomed", 2)  # hangs at its 2nd claim
    survivor: asyncio.subprocess.Process | None = None
    try:
        await claims_seen(doomed, 2)
        survivor = await start(backend_target, tmp_path, "survivor", 0)
        doomed.kill()  # SIGKILL while it holds a claimed batch
        await doomed.wait()
        await finished(survivor, tmp_path, "survivor")
    finally:
        for process in (doomed, survivor):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
    assert await left(any_db) == (0, 0, 0)
    shared, single = await matches_and_single_scan(services)
    assert len(shared) > 400 and shared == single


async def test_the_scan_command_claims_beside_running_processes(
    any_db: Backend, backend_target: str, tmp_path: Path, clock: FakeClock
) -> None:
    """`framewatch scan` on PostgreSQL scans by claims too (run_scan's own stores do not
    check the rules version, which processes scanning at the same time need)."""
    services = await backlog(any_db, clock)
    key = "FRAMEWATCH_DB_PATH" if any_db.dialect.is_sqlite else "FRAMEWATCH_DATABASE_URL"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    env |= {key: backend_target, "FRAMEWATCH_BOT_TOKEN": "1:T", "PYTHONPATH": str(PROJECT)}
    worker = await start(backend_target, tmp_path, "worker", 0)
    try:
        command = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "scan",
            cwd=tmp_path,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(180):
            out, err = await command.communicate()
        assert command.returncode == 0 and out.strip(), err.decode()
        await finished(worker, tmp_path, "worker")
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    assert await left(any_db) == (0, 0, 0)
    shared, single = await matches_and_single_scan(services)
    assert len(shared) > 400 and shared == single


async def test_framewatch_worker_runs_the_scan_steps(
    pg_url: str, tmp_path: Path, clock: FakeClock, tg: FakeTelegram
) -> None:
    """`python -m bot worker` (bot/worker.py STEPS) takes the scan backlog and the pending
    rescans by claims, beside nothing else, and stores what one plain scan stores."""
    db = await open_db(pg_url)
    try:
        services = await backlog(db, clock)
        worker = await start_worker(tg, tmp_path, pg_url, "worker")
        try:
            async with asyncio.timeout(180):
                while await left(db) != (0, 0, 0):  # noqa: ASYNC110 another process's work
                    await asyncio.sleep(0.2)
            worker.send_signal(signal.SIGTERM)
            async with asyncio.timeout(60):
                assert await worker.wait() == 0
        finally:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
        shared, single = await matches_and_single_scan(services)
        assert len(shared) > 400 and shared == single
    finally:
        await db.close()
    assert "Traceback" not in (tmp_path / "worker.log").read_text(errors="replace")
