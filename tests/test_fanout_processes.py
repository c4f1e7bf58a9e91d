"""Digest fan-out shared by processes on one PostgreSQL (issue 12), with real processes
killed by SIGKILL midway: `python -m bot worker` and two `python -m bot run`. Each
subscriber's digest reaches the fake Bot API exactly once, whichever process sends it.

The kill is timed so that every message its sender had marked in flight has reached the
server (its answer held back, tests/fake_telegram.py hold_sends): the in-flight marks are
then counted as sent by the process that takes over, not sent again."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bot.clock import utc_now
from bot.context import Services
from bot.database import open_db
from bot.fanout import CONCURRENT_SENDS, LEASE_BATCH, plan_due
from tests.conftest import TOKEN, make_settings
from tests.fake_telegram import FakeTelegram
from tests.test_crash import PROJECT, bot_env
from tests.test_leader import PASSWORD, start_run, wait_for_log, with_password

SUBSCRIBERS = 300
HOLD_AFTER = LEASE_BATCH + 40  # midway through a process's second lease
TAKEN_OVER = "counted as sent, not sent again"


async def seed(url: str, tmp_path: Path, tg: FakeTelegram, plan: bool) -> list[int]:
    """SUBSCRIBERS subscribers since two days; with `plan`, today's digests planned."""
    db = await open_db(url)
    try:
        services = Services.create(make_settings(tmp_path, tg.base_url), db, utc_now)
        chats = list(range(7001, 7001 + SUBSCRIBERS))
        for chat in chats:
            await services.subscribers.subscribe(chat, utc_now() - timedelta(days=2))
        if plan:
            assert await plan_due(services, utc_now()) == SUBSCRIBERS
        return chats
    finally:
        await db.close()


async def wait_until_delivered(url: str) -> None:
    """Until no delivery is pending (another process's database: nothing to wait on)."""
    db = await open_db(url)
    try:
        async with asyncio.timeout(180):
            while await db.fetchval(  # noqa: ASYNC110
                "SELECT count(*) FROM deliveries WHERE status = 'pending'"
            ) or not await db.fetchval("SELECT count(*) FROM deliveries"):
                await asyncio.sleep(0.2)
        rows = await db.fetchall(
            "SELECT status, sent_count, sending, count(*) FROM deliveries"
            " GROUP BY status, sent_count, sending"
        )
        assert [tuple(r) for r in rows] == [("sent", 1, 0, SUBSCRIBERS)]
    finally:
        await db.close()


def digests_per_chat(tg: FakeTelegram) -> Counter[int]:
    return Counter(m.chat_id for m in tg.sent if "FrameWatch digest" in m.text)


def env_for(tg: FakeTelegram, tmp_path: Path, url: str) -> dict[str, str]:
    return bot_env(tg, tmp_path / "no.db") | {
        "FRAMEWATCH_DATABASE_URL": url,
        "FRAMEWATCH_LEASE_SECONDS": "5",
        "FRAMEWATCH_WORKER_IDLE_SECONDS": "0.5",
    }


async def start_worker(
    tg: FakeTelegram, tmp_path: Path, url: str, name: str
) -> asyncio.subprocess.Process:
    log = (tmp_path / f"{name}.log").open("wb")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "worker",
            cwd=tmp_path,
            env=env_for(tg, tmp_path, url),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    finally:
        log.close()


async def kill_all(*processes: asyncio.subprocess.Process | None) -> None:
    for process in processes:
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()


def clean_logs(tmp_path: Path, names: list[str]) -> list[str]:
    texts = [(tmp_path / f"{name}.log").read_text(errors="replace") for name in names]
    for text in texts:
        assert PASSWORD not in text and TOKEN not in text
        assert "Traceback" not in text
    return texts


async def test_a_worker_killed_midway_leaves_the_rest_to_another_sent_once_each(
    pg_url: str, tmp_path: Path, tg: FakeTelegram
) -> None:
    url = with_password(pg_url)
    chats = await seed(url, tmp_path, tg, plan=True)
    tg.hold_sends(HOLD_AFTER)
    first = await start_worker(tg, tmp_path, url, "first")
    second = None
    try:
        # Every one of its senders has a message at the server, unanswered: kill it now.
        await tg.wait_for_held(CONCURRENT_SENDS, timeout=120)
        first.kill()
        await first.wait()
        before = digests_per_chat(tg)
        assert len(before) == HOLD_AFTER + CONCURRENT_SENDS < SUBSCRIBERS
        tg.release_sends()
        tg.fail("sendMessage", status=429, retry_after=1, times=3)  # postponed, then sent
        second = await start_worker(tg, tmp_path, url, "second")
        await wait_until_delivered(url)
        assert digests_per_chat(tg) == Counter(dict.fromkeys(chats, 1))
        second.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            assert await second.wait() == 0
    finally:
        await kill_all(first, second)
    _, text = clean_logs(tmp_path, ["first", "second"])
    assert text.count(TAKEN_OVER) == CONCURRENT_SENDS
    assert "FrameWatch worker" in text and "stopped" in text
    assert text.count("postponed by") == 3


async def test_the_leader_killed_while_a_digest_goes_out_the_next_sends_the_rest_once(
    pg_url: str, tmp_path: Path, tg: FakeTelegram
) -> None:
    url = with_password(pg_url)
    chats = await seed(url, tmp_path, tg, plan=False)  # the leader's digest job plans
    tg.hold_sends(HOLD_AFTER)
    env = {"FRAMEWATCH_LEASE_SECONDS": "5", "FRAMEWATCH_WORKER_IDLE_SECONDS": "0.5"}
    os.environ.update(env)  # start_run passes the test's environment on
    first = second = None
    try:
        first = await start_run(tg, tmp_path, url, "first")
        await wait_for_log(tmp_path / "first.log", "leading: this instance holds the leader lock")
        second = await start_run(tg, tmp_path, url, "second")
        await wait_for_log(tmp_path / "second.log", "standing by: another FrameWatch leads")
        await tg.wait_for_held(CONCURRENT_SENDS, timeout=120)
        first.kill()  # SIGKILL while the digest goes out
        await first.wait()
        assert len(digests_per_chat(tg)) == HOLD_AFTER + CONCURRENT_SENDS < SUBSCRIBERS
        tg.release_sends()
        await wait_for_log(tmp_path / "second.log", "leading: this instance holds the leader lock")
        await wait_until_delivered(url)
        assert digests_per_chat(tg) == Counter(dict.fromkeys(chats, 1))
        second.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            assert await second.wait() == 0
    finally:
        for key in env:
            os.environ.pop(key, None)
        await kill_all(first, second)
    _, text = clean_logs(tmp_path, ["first", "second"])
    assert text.count(TAKEN_OVER) == CONCURRENT_SENDS


async def test_worker_on_sqlite_says_it_needs_postgresql(tmp_path: Path, tg: FakeTelegram) -> None:
    env = bot_env(tg, tmp_path / "fw.db")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "worker",
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(PROJECT)},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert (process.returncode, out) == (2, b"")
    lines = err.decode().splitlines()
    assert len(lines) == 1 and "FRAMEWATCH_DATABASE_URL" in lines[0], lines
    assert not (tmp_path / "fw.db").exists()
