"""One `framewatch run` per database, checked with real processes; and the fake Bot API
answering overlapping getUpdates with 409 Conflict as Telegram does."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest
import telegram
from telegram.error import Conflict

from bot.single_instance import AlreadyRunningError, single_instance
from tests.conftest import TOKEN
from tests.fake_telegram import FakeTelegram, private_message
from tests.test_crash import bot_env, start_bot


async def test_a_second_run_on_the_same_database_refuses_to_start(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    first = await start_bot(tg, tmp_path, 0)
    try:
        await tg.wait_for_request("getUpdates", timeout=30)
        second = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=bot_env(tg, tmp_path / "bot.db") | {"FRAMEWATCH_LOG_LEVEL": "INFO"},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(30):  # before the fix it ran on, polling beside the first
                out, err = await second.communicate()
        finally:
            if second.returncode is None:
                second.kill()
                await second.wait()
        assert second.returncode == 2
        assert out == b""
        assert err.decode().splitlines() == [
            f"framewatch: another FrameWatch is already running on {tmp_path / 'bot.db'} "
            f"(pid {first.pid}); stop it first, or set FRAMEWATCH_DB_PATH to another database"
        ]
        assert tg.conflicts == 0  # the second never polled

        tg.push_update(private_message(5, "/start"))
        await tg.wait_for_sent(1, chat_id=5, timeout=30)  # the first one still works
    finally:
        first.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            assert await first.wait() == 0
    assert TOKEN not in (tmp_path / "run0.log").read_text()


def test_the_lock_is_released_when_its_holder_ends(tmp_path: Path) -> None:
    db = str(tmp_path / "x.db")
    holder = single_instance(db)
    holder.__enter__()
    with pytest.raises(AlreadyRunningError, match="already running"), single_instance(db):
        pass  # pragma: no cover - refused above
    holder.__exit__(None, None, None)
    with single_instance(db):  # free again
        pass


async def test_overlapping_long_polls_get_409_like_telegram(tg: FakeTelegram) -> None:
    async with (
        telegram.Bot(TOKEN, base_url=tg.base_url) as one,
        telegram.Bot(TOKEN, base_url=tg.base_url) as two,
    ):
        older = asyncio.create_task(one.get_updates(timeout=30))
        await tg.wait_for_request("getUpdates")
        newer = asyncio.create_task(two.get_updates(timeout=30))
        async with asyncio.timeout(5):
            with pytest.raises(Conflict, match="terminated by other getUpdates request"):
                await older
        assert tg.conflicts == 1
        update_id = tg.push_update(private_message(5, "hi"))
        async with asyncio.timeout(5):
            assert [u.update_id for u in await newer] == [update_id]
