"""Issue 12's whole scene with real processes on one PostgreSQL: two `python -m bot run`
instances and a `python -m bot worker`, the leader killed with SIGKILL while channel posts
stream in and while the day's digest goes out. Every post is stored once and every
subscriber gets the digest once, whichever process stores or sends it.

As in tests/test_fanout_processes.py, the kill comes when every send slot of the leader and
the worker holds a message the fake Bot API has received but not answered: the leader's
in-flight rows are then counted as sent by whoever takes them over, not sent again."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path

from bot.database import open_db
from bot.fanout import CONCURRENT_SENDS
from tests.fake_telegram import FakeTelegram, channel_post
from tests.test_fanout_processes import (
    HOLD_AFTER,
    SUBSCRIBERS,
    TAKEN_OVER,
    clean_logs,
    digests_per_chat,
    kill_all,
    seed,
    start_worker,
    wait_until_delivered,
)
from tests.test_leader import start_run, wait_for_log, with_password

CHANNEL = -1001777000111
POSTS = 60
LEADS = "leading: this instance holds the leader lock"


async def stream_posts(tg: FakeTelegram, first: int, count: int) -> None:
    """Channel posts pushed one after another, as a busy channel sends them."""
    for message_id in range(first, first + count):
        tg.push_update(channel_post(CHANNEL, message_id, f"Report {message_id}", username="wire"))
        await asyncio.sleep(0.05)


async def stored_posts(url: str) -> Counter[int]:
    """message_id -> rows stored for it, once all POSTS are in (another process writes)."""
    db = await open_db(url)
    try:
        query = "SELECT message_id FROM posts WHERE chat_id = ?"
        async with asyncio.timeout(120):
            while len(rows := await db.fetchall(query, [CHANNEL])) < POSTS:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        return Counter(int(r[0]) for r in rows)
    finally:
        await db.close()


async def test_two_instances_and_a_worker_lose_and_double_nothing_when_the_leader_dies(
    pg_url: str, tmp_path: Path, tg: FakeTelegram
) -> None:
    url = with_password(pg_url)
    chats = await seed(url, tmp_path, tg, plan=False)  # the leader's digest job plans
    tg.hold_sends(HOLD_AFTER)
    env = {"FRAMEWATCH_LEASE_SECONDS": "5", "FRAMEWATCH_WORKER_IDLE_SECONDS": "0.5"}
    os.environ.update(env)  # start_run passes the test's environment on
    first = second = worker = None
    try:
        first = await start_run(tg, tmp_path, url, "first")
        await wait_for_log(tmp_path / "first.log", LEADS)
        second = await start_run(tg, tmp_path, url, "second")
        worker = await start_worker(tg, tmp_path, url, "worker")
        await wait_for_log(tmp_path / "second.log", "standing by: another FrameWatch leads")
        streaming = asyncio.create_task(stream_posts(tg, 1, POSTS))
        # Both senders are full: every slot holds a message the server has not answered.
        await tg.wait_for_held(2 * CONCURRENT_SENDS, timeout=120)
        await asyncio.sleep(0.5)  # a few more posts reach the leader before it dies
        first.kill()
        await first.wait()
        held = len(digests_per_chat(tg)) - HOLD_AFTER  # at the server, unanswered
        assert held >= 2 * CONCURRENT_SENDS and HOLD_AFTER + held < SUBSCRIBERS
        tg.release_sends()
        await streaming
        await wait_for_log(tmp_path / "second.log", LEADS)
        await wait_until_delivered(url)
        assert digests_per_chat(tg) == Counter(dict.fromkeys(chats, 1))
        assert await stored_posts(url) == Counter(dict.fromkeys(range(1, POSTS + 1), 1))
        for process in (second, worker):
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                assert await process.wait() == 0
    finally:
        for key in env:
            os.environ.pop(key, None)
        await kill_all(first, second, worker)
    texts = clean_logs(tmp_path, ["first", "second", "worker"])
    # The leader's in-flight rows (some of the held ones; the worker's were answered after
    # the release), taken over by the successor or the worker and not sent again.
    assert 0 < sum(text.count(TAKEN_OVER) for text in texts) < held
