"""Several `framewatch run --webhook` on one PostgreSQL (issue 12): every instance's listener
saves updates in the inbox, only the leader registers the webhook and dispatches. Real
processes, the throwaway PostgreSQL of tests/pg_server.py and the fake Bot API."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from bot.webhook import SECRET_HEADER
from storage.pg.leader import LeaderLock
from tests.conftest import TOKEN
from tests.fake_telegram import FakeTelegram, channel_post, private_message
from tests.test_crash import bot_env
from tests.test_leader import PASSWORD, wait_for_log, with_password
from tests.test_run_errors import closed_port

SECRET = "instances-Webhook_secret-0123456789"
URL = "https://bot.example.org/hook"
LEADS = "leading: this instance holds the leader lock"
STANDS_BY = "standing by: another FrameWatch leads"


class Instance:
    """One `python -m bot run --webhook` process with its own listener port and log."""

    def __init__(self, tmp_path: Path, name: str) -> None:
        self.name = name
        self.port = closed_port()
        self.log = tmp_path / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, tg: FakeTelegram, tmp_path: Path, url: str) -> None:
        env = bot_env(tg, tmp_path / f"{self.name}.db") | {
            "FRAMEWATCH_DATABASE_URL": url,
            "FRAMEWATCH_WEBHOOK_SECRET": SECRET,
            "FRAMEWATCH_WEBHOOK_PORT": str(self.port),
        }
        with self.log.open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                "--webhook",
                URL,
                cwd=tmp_path,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        await wait_for_log(self.log, "webhook intake listening on")

    async def post(self, session: aiohttp.ClientSession, body: dict[str, Any]) -> int | None:
        """The HTTP status, or None if nothing answers (the process is gone)."""
        headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
        url = f"http://127.0.0.1:{self.port}/hook"
        try:
            async with session.post(
                url, data=io.BytesIO(json.dumps(body).encode()), headers=headers
            ) as response:
                await response.read()
                return response.status
        except aiohttp.ClientConnectionError:
            return None

    async def stop(self) -> int | None:
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            return await self.process.wait()

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    def clean_log(self) -> None:
        text = self.log.read_text(errors="replace")
        assert PASSWORD not in text and TOKEN not in text and SECRET not in text
        assert "Traceback" not in text, text[-3000:]


@pytest.fixture
async def instances(tmp_path: Path) -> AsyncIterator[list[Instance]]:
    made = [Instance(tmp_path, "first"), Instance(tmp_path, "second")]
    try:
        yield made
    finally:
        for instance in made:
            await instance.kill()


async def inbox_state(url: str) -> tuple[int, int, int]:
    """(rows, processed, quarantined) of the inbox."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*), count(processed_at), count(quarantined_at) FROM inbox"
        )
    finally:
        await conn.close()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


async def wait_until_processed(url: str, count: int) -> None:
    """Until `count` inbox rows are processed (another process does it: no event to wait on)."""
    async with asyncio.timeout(60):
        while (await inbox_state(url))[1] < count:  # noqa: ASYNC110
            await asyncio.sleep(0.1)


def command(n: int) -> dict[str, Any]:
    return {"update_id": 7000 + n, **private_message(9000 + n, "/start")}


async def test_a_standby_saves_posted_updates_and_dispatches_only_once_it_leads(
    pg_url: str, tmp_path: Path, tg: FakeTelegram, instances: list[Instance]
) -> None:
    url = with_password(pg_url)
    holder = LeaderLock(pg_url)  # the test leads: the process can only stand by
    assert await holder.try_acquire()
    standby = instances[0]
    try:
        await standby.start(tg, tmp_path, url)
        await wait_for_log(standby.log, STANDS_BY)
        async with aiohttp.ClientSession() as session:
            statuses = [await standby.post(session, command(n)) for n in range(3)]
            assert statuses == [200, 200, 200]
            assert await standby.post(session, command(0)) == 200  # a repeat: stored once
        assert await inbox_state(pg_url) == (3, 0, 0)  # saved, committed, not dispatched
        assert tg.requests_for("setWebhook") == [] and tg.sent == []
    finally:
        await holder.close()  # now it may lead
    await wait_for_log(standby.log, LEADS)
    await wait_until_processed(pg_url, 3)
    for n in range(3):
        await tg.wait_for_sent(1, chat_id=9000 + n, timeout=30)
    assert await standby.stop() == 0
    assert all(len(tg.sent_to(9000 + n)) == 1 for n in range(3))
    assert len(tg.requests_for("setWebhook")) == 1
    standby.clean_log()


async def test_updates_posted_to_either_listener_are_each_handled_once(
    pg_url: str, tmp_path: Path, tg: FakeTelegram, instances: list[Instance]
) -> None:
    url = with_password(pg_url)
    first, second = instances
    await first.start(tg, tmp_path, url)
    await wait_for_log(first.log, LEADS)
    await tg.wait_for_request("setWebhook", timeout=60)
    await second.start(tg, tmp_path, url)
    await wait_for_log(second.log, STANDS_BY)
    count = 40
    async with aiohttp.ClientSession() as session:
        statuses = await asyncio.gather(
            *(instances[n % 2].post(session, command(n)) for n in range(count)),
            # Telegram's retries of some, to the other listener: stored once.
            *(instances[(n + 1) % 2].post(session, command(n)) for n in range(0, count, 5)),
        )
    assert set(statuses) == {200}
    await wait_until_processed(pg_url, count)
    await tg.wait_for_sent(count, timeout=30)
    assert await first.stop() == 0
    assert await second.stop() == 0  # a standby stops when told to
    assert await inbox_state(pg_url) == (count, count, 0)
    assert all(len(tg.sent_to(9000 + n)) == 1 for n in range(count))
    assert len(tg.requests_for("setWebhook")) == 1  # only the leader registered
    assert "replaying" not in second.log.read_text()  # the standby never dispatched
    for instance in instances:
        instance.clean_log()


async def deliver(
    session: aiohttp.ClientSession, instances: list[Instance], n: int, body: dict[str, Any]
) -> None:
    """As Telegram behind a proxy: try one listener, on no 200 the other, until one saves."""
    async with asyncio.timeout(60):
        for attempt in range(10_000):
            if await instances[(n + attempt) % 2].post(session, body) == 200:
                return
            await asyncio.sleep(0.05)


async def test_a_leader_killed_while_updates_stream_in_loses_none(
    pg_url: str, tmp_path: Path, tg: FakeTelegram, instances: list[Instance]
) -> None:
    url = with_password(pg_url)
    first, second = instances
    await first.start(tg, tmp_path, url)
    await wait_for_log(first.log, LEADS)
    await tg.wait_for_request("setWebhook", timeout=60)
    await second.start(tg, tmp_path, url)
    await wait_for_log(second.log, STANDS_BY)
    count, chat = 60, -1001234500000
    bodies = [
        {"update_id": 8000 + n, **channel_post(chat, n + 1, f"post {n}")} for n in range(count)
    ]
    async with aiohttp.ClientSession() as session:
        for n in range(count // 3):
            await deliver(session, instances, n, bodies[n])
        streaming = asyncio.gather(
            *(deliver(session, instances, n, bodies[n]) for n in range(count // 3, count))
        )
        async with asyncio.timeout(60):  # some of the stream saved: the rest is in flight
            while (await inbox_state(pg_url))[0] < count // 3 + 3:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await first.kill()  # SIGKILL while the rest stream in
        await streaming
    await wait_for_log(second.log, LEADS)
    await wait_until_processed(pg_url, count)
    assert await second.stop() == 0
    assert await inbox_state(pg_url) == (count, count, 0)
    conn = await asyncpg.connect(pg_url)
    try:
        rows = await conn.fetch(
            "SELECT message_id, count(*) FROM posts WHERE chat_id = $1 GROUP BY message_id", chat
        )
    finally:
        await conn.close()
    assert sorted((r[0], r[1]) for r in rows) == [(n + 1, 1) for n in range(count)]
    for instance in instances:
        instance.clean_log()
