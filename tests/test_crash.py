"""Kill the real bot process with SIGKILL right after it fetched updates; lose nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

from tests.conftest import TOKEN
from tests.fake_telegram import FakeTelegram, channel_post

PROJECT = Path(__file__).resolve().parents[1]
CHANNELS = (-1001000000001, -1001000000002)
# Kill at once, and a little later: before the batch is saved, while it is saved,
# while it is dispatched, and after the next poll acknowledged it.
KILL_DELAYS = (0.0, 0.0, 0.002, 0.01, 0.03, 0.1)


def bot_env(tg: FakeTelegram, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    env.update(
        FRAMEWATCH_BOT_TOKEN=TOKEN,
        FRAMEWATCH_API_BASE_URL=tg.base_url,
        FRAMEWATCH_DB_PATH=str(db),
        FRAMEWATCH_LOG_LEVEL="DEBUG",
        PYTHONPATH=str(PROJECT),
    )
    return env


async def start_bot(tg: FakeTelegram, tmp_path: Path, run: int) -> asyncio.subprocess.Process:
    log = (tmp_path / f"run{run}.log").open("wb")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=bot_env(tg, tmp_path / "bot.db"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    finally:
        log.close()


def push_round(tg: FakeTelegram, run: int, expected: dict[tuple[int, int], str]) -> int:
    """Five new posts in two channels and an edit of the previous round's first post."""
    last = 0
    for n in range(5):
        chat, message_id = CHANNELS[n % 2], run * 10 + n
        text = f"round {run} post {n}: жест доброй воли"
        last = tg.push_update(channel_post(chat, message_id, text, date=1_764_000_000 + run))
        expected[(chat, message_id)] = text
    if run:
        key = (CHANNELS[0], (run - 1) * 10)
        text = expected[key] + " (edited)"
        last = tg.push_update(channel_post(*key, text, edited=True, edit_date=1_764_100_000 + run))
        expected[key] = text
    return last


async def wait_acknowledged(tg: FakeTelegram, update_id: int) -> None:
    """Wait until the bot asks for updates after `update_id`: all before it are processed."""
    seen = 0
    while True:
        requests = await tg.wait_for_request("getUpdates", count=seen + 1, timeout=30)
        seen = len(requests)
        if any((r.params.get("offset") or 0) > update_id for r in requests):
            return


async def test_sigkill_after_fetching_loses_nothing_and_stores_once(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    expected: dict[tuple[int, int], str] = {}
    loop = asyncio.get_running_loop()
    for run, delay in enumerate(KILL_DELAYS):
        push_round(tg, run, expected)
        proc = await start_bot(tg, tmp_path, run)
        tg.on_updates_served = lambda _u, p=proc, d=delay: loop.call_later(  # type: ignore[misc]
            d, os.kill, p.pid, signal.SIGKILL
        )
        async with asyncio.timeout(60):
            assert await proc.wait() == -signal.SIGKILL
    tg.on_updates_served = None
    last = push_round(tg, len(KILL_DELAYS), expected)
    proc = await start_bot(tg, tmp_path, len(KILL_DELAYS))
    await wait_acknowledged(tg, last)
    proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        assert await proc.wait() == 0

    stored = read_posts(tmp_path / "bot.db")
    assert stored == expected  # every post once, with its latest text
    assert not tg.hook_errors
    assert not logs_containing(tmp_path, TOKEN)


def logs_containing(folder: Path, secret: str) -> list[Path]:
    logs = sorted(folder.glob("run*.log"))
    assert len(logs) == len(KILL_DELAYS) + 1
    return [log for log in logs if secret in log.read_text(errors="replace")]


def read_posts(db: Path) -> dict[tuple[int, int], Any]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT chat_id, message_id, text FROM posts").fetchall()
        pending = conn.execute("SELECT count(*) FROM inbox WHERE processed_at IS NULL").fetchone()
    conn.close()
    assert pending == (0,)
    assert len(rows) == len({(r[0], r[1]) for r in rows})
    return {(r[0], r[1]): r[2] for r in rows}
