"""Updates of different chats are handled side by side; those of one chat stay in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat_order import ChatOrder
from tests.conftest import (
    MODERATOR,
    STRANGER,
    FakeClock,
    Harness,
    make_settings,
    running_harness,
)
from tests.fake_telegram import FakeTelegram, channel_post, private_message
from tests.fixtures.tme_s.server import TmeServer


@pytest.fixture
async def tme() -> AsyncIterator[TmeServer]:
    async with TmeServer() as server:
        yield server


@pytest.fixture
async def bot(
    tmp_path: Path, tg: FakeTelegram, clock: FakeClock, tme: TmeServer, backend_target: str
) -> AsyncIterator[Harness]:
    settings = make_settings(tmp_path, tg.base_url, backend_target, web_preview_url=tme.base_url)
    async with running_harness(settings, tg, clock) as harness:
        await harness.grant_roles()
        yield harness
        await harness.poller.drain(timeout=5)


async def test_a_slow_follow_does_not_hold_up_another_users_start(
    bot: Harness, tme: TmeServer
) -> None:
    tme.channel("slow_channel").add(1, 2, 3)
    tme.gate_at = 2  # t.me holds the first request until we let it go: a slow t.me
    moderator_replies = len(bot.tg.sent_to(MODERATOR))
    bot.tg.push_update(private_message(MODERATOR, "/follow @slow_channel"))
    bot.tg.push_update(private_message(STRANGER, "/start"))

    async with asyncio.timeout(10):  # before the fix: /start waited behind /follow forever
        offset = await bot.poller.fetch_once(None, wait=False)
        (answer,) = await bot.tg.wait_for_sent(1, chat_id=STRANGER)
    assert "FrameWatch" in answer.text
    assert len(bot.tg.sent_to(MODERATOR)) == moderator_replies  # /follow is still waiting
    offset = await bot.poller.fetch_once(offset, wait=False)  # a round while it waits

    tme._gate.set()
    await bot.poller.drain()
    assert len(bot.tg.sent_to(MODERATOR)) == moderator_replies + 1  # handled once
    assert "Following @slow_channel" in bot.tg.sent_to(MODERATOR)[-1].text
    bot.offset = offset
    await bot.poll()
    assert (await bot.services.inbox.counts()).pending == 0


async def test_posts_and_edits_of_one_channel_keep_their_order(bot: Harness) -> None:
    channels = [-1001000000011, -1001000000012, -1001000000013]
    for round_ in range(3):
        for chat in channels:
            for message_id in (1, 2):
                text = f"{chat} {message_id} v{round_}"
                bot.tg.push_update(
                    channel_post(chat, message_id, text, edited=round_ > 0, edit_date=1 + round_)
                )
    await bot.poll()
    stored = await bot.db.fetchall("SELECT chat_id, message_id, text FROM posts")
    assert {(r[0], r[1]): r[2] for r in stored} == {
        (chat, m): f"{chat} {m} v2" for chat in channels for m in (1, 2)
    }
    versions = await bot.db.fetchval("SELECT count(*) FROM post_versions")
    assert versions == len(channels) * 2 * 2  # two replaced texts per post


async def test_chat_order_runs_one_chat_in_order_and_other_chats_meanwhile() -> None:
    order = ChatOrder(max_concurrent=4)
    release = asyncio.Event()
    log: list[str] = []

    async def work(name: str, wait: bool) -> str:
        log.append(f"start {name}")
        if wait:
            await release.wait()
        log.append(f"end {name}")
        return name

    first = asyncio.create_task(order.run(1, lambda: work("a1", True)))
    second = asyncio.create_task(order.run(1, lambda: work("a2", False)))
    other = asyncio.create_task(order.run(2, lambda: work("b1", False)))
    assert await other == "b1"  # chat 2 did not wait for chat 1
    assert log == ["start a1", "start b1", "end b1"]
    release.set()
    assert await asyncio.gather(first, second) == ["a1", "a2"]
    assert log[3:] == ["end a1", "start a2", "end a2"]
    assert order.chats == 0  # idle chats are forgotten
