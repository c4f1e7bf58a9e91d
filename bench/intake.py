"""Benchmark: the update intake, chats side by side against one update at a time.

The real application polls the tests' fake Bot API (tests/fake_telegram.py) through the
DurablePoller, on a fresh SQLite file per run, twice: with the default concurrency and,
as the baseline, with one handler at a time (what the bot did before issue 8).

- latency: a moderator's /follow waits on a slow t.me (the local stand-in holds the request
  for --delay seconds); another user's /start is sent right after it. Figure: seconds from
  the poll that fetched both to the /start reply.
- throughput: --posts channel posts in 20 channels (each post then an edit), fetched and
  handled in batches of 100. Figure: updates/s, saving and handling included.

Run: `.venv/bin/python bench/intake.py` (options: --delay S --posts N).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.app import build_application  # noqa: E402
from bot.context import Services  # noqa: E402
from bot.inbox import MAX_CONCURRENT, DurablePoller  # noqa: E402
from handlers import ALLOWED_UPDATES  # noqa: E402
from storage.db import open_database  # noqa: E402
from tests.conftest import ADMIN, STRANGER, TOKEN, FakeClock, make_settings  # noqa: E402
from tests.fake_telegram import FakeTelegram, channel_post, private_message  # noqa: E402
from tests.fixtures.tme_s.server import TmeServer  # noqa: E402


@asynccontextmanager
async def bot(concurrent: int) -> AsyncIterator[tuple[FakeTelegram, TmeServer, DurablePoller]]:
    with tempfile.TemporaryDirectory() as folder:
        async with FakeTelegram(token=TOKEN) as tg, TmeServer() as tme:
            settings = make_settings(Path(folder), tg.base_url, web_preview_url=tme.base_url)
            db = await open_database(settings.db_path)
            app = build_application(settings, Services.create(settings, db, FakeClock()))
            try:
                async with app:
                    poller = DurablePoller(
                        app, app.bot_data.services, ALLOWED_UPDATES, 0, max_concurrent=concurrent
                    )
                    yield tg, tme, poller
                    await poller.drain()
            finally:
                await db.close()


async def start_latency(concurrent: int, delay: float) -> float:
    async with bot(concurrent) as (tg, tme, poller):
        tme.channel("slow_channel").add(1, 2, 3)
        tme.gate_at = 2  # held until released below
        loop = asyncio.get_running_loop()
        tg.push_update(private_message(ADMIN, "/follow @slow_channel"))
        tg.push_update(private_message(STRANGER, "/start"))
        started = time.perf_counter()
        loop.call_later(delay, tme._gate.set)
        offset = await poller.fetch_once(None, wait=False)
        await tg.wait_for_sent(1, chat_id=STRANGER, timeout=delay + 30)
        elapsed = time.perf_counter() - started
        await poller.drain()
        await poller.fetch_once(offset)
        return elapsed


async def throughput(concurrent: int, posts: int) -> float:
    async with bot(concurrent) as (tg, _tme, poller):
        for n in range(posts):
            chat, message_id = -1001000000000 - n % 20, n // 20 + 1
            tg.push_update(channel_post(chat, message_id, f"post {n}: жест доброй воли"))
            tg.push_update(channel_post(chat, message_id, f"post {n}, edited", edited=True))
        started = time.perf_counter()
        offset = None
        while tg.pending_updates():
            offset = await poller.fetch_once(offset)
        return 2 * posts / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=2.0, help="t.me delay, seconds")
    parser.add_argument("--posts", type=int, default=1000, help="channel posts (each edited)")
    args = parser.parse_args()
    fast = await start_latency(MAX_CONCURRENT, args.delay)
    slow = await start_latency(1, args.delay)
    print(f"/start behind a /follow on a t.me that takes {args.delay:.1f} s:")
    print(f"  side by side ({MAX_CONCURRENT}): {fast:.3f} s; one at a time: {slow:.3f} s")
    side = await throughput(MAX_CONCURRENT, args.posts)
    one = await throughput(1, args.posts)
    print(f"{2 * args.posts} channel updates in 20 channels (batches of 100):")
    print(f"  side by side: {side:,.0f} updates/s; one at a time: {one:,.0f} ({side / one:.2f}x)")


if __name__ == "__main__":
    asyncio.run(main())
