"""Digest fan-out to N subscribers through the fake Bot API: one process, and a leader with
`framewatch worker` processes beside it, on SQLite (one process) and PostgreSQL.

Each scenario starts from a fresh database with N subscribers due today's digest and the
same injected flood waits (429 retry_after: every 100th subscriber's first attempt, and twice
whoever comes next). Timed from the start of the leader's delivery until every subscriber's
digest is out (rows postponed by a flood wait included; on SQLite the catch-up run that sends
them runs as soon as the wait is over). Printed: messages/s, lost and duplicate messages
(counted from the fake server's sendMessage log), flood waits.

- sqlite, 1 process: bot.delivery.deliver_daily in the bench's process (the one-process bot).
- postgresql, 1 process: the leader's leased delivery (bot.fanout.deliver_leased), alone.
- postgresql, leader + W workers: the same, with W real `python -m bot worker` processes.

The fake server answers after --delay seconds (Telegram's latency) and enforces no overall
limit; each process keeps itself under Telegram's 30 messages/s (AIORateLimiter). Telegram's
limit is per bot, so on Telegram two processes draw flood waits (postponed rows) rather
than doubling the rate: the leader + worker figure is what processes add when sending is
slow (latency, CPU), not a way past Telegram's limit.

Run: `.venv/bin/python bench/fanout.py` (600 subscribers, about 2 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.app import build_application  # noqa: E402
from bot.clock import utc_now  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.context import Services  # noqa: E402
from bot.database import open_db  # noqa: E402
from bot.delivery import deliver_daily  # noqa: E402
from bot.fanout import deliver_leased, fan_out_batch  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.pg_server import NoServer, create_database, start_server, stop_server  # noqa: E402

TOKEN = "123456:BENCH-token"
LEASE_SECONDS = 10


def settings_for(tg: FakeTelegram, target: str, tmp: Path) -> Settings:
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "api_base_url": tg.base_url,
        "db_path": str(tmp / "unused.db"),
        "lease_seconds": LEASE_SECONDS,
        "worker_idle_seconds": 0.2,
    }
    if target.startswith("postgresql://"):
        values["database_url"] = target
    else:
        values["db_path"] = target
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def subscribe(services: Services, count: int) -> list[int]:
    chats = list(range(10_000_001, 10_000_001 + count))
    since = (utc_now() - timedelta(days=2)).isoformat()
    async with services.db.atomic() as conn:
        await conn.executemany(
            "INSERT INTO subscribers (chat_id, active, subscribed_at, updated_at)"
            " VALUES (?, 1, ?, ?)",
            [(c, since, since) for c in chats],
        )
    return chats


async def pending(services: Services) -> int:
    return int(
        await services.db.fetchval("SELECT count(*) FROM deliveries WHERE status = 'pending'")
    )


async def start_workers(count: int, tg: FakeTelegram, url: str, tmp: Path) -> list[Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    env |= {
        "FRAMEWATCH_BOT_TOKEN": TOKEN,
        "FRAMEWATCH_API_BASE_URL": tg.base_url,
        "FRAMEWATCH_DATABASE_URL": url,
        "FRAMEWATCH_LEASE_SECONDS": str(LEASE_SECONDS),
        "FRAMEWATCH_WORKER_IDLE_SECONDS": "0.2",
        "PYTHONPATH": str(ROOT),
    }
    workers = []
    for _ in range(count):
        workers.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "worker",
                cwd=tmp,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        )
    # Ready when each has asked the fake server who it is (getMe).
    await tg.wait_for_request("getMe", count=count + 1, timeout=60)
    return workers


async def scenario(
    target: str, workers: int, count: int, delay: float, tmp: Path
) -> dict[str, Any]:
    async with FakeTelegram(token=TOKEN) as tg:
        tg.send_delay = delay
        settings = settings_for(tg, target, tmp)
        db = await open_db(settings.database())
        services = Services.create(settings, db, utc_now)
        app = build_application(settings, services)
        processes: list[Any] = []
        try:
            async with app:
                chats = await subscribe(services, count)
                if workers:
                    processes = await start_workers(workers, tg, target, tmp)
                for chat in chats[50::100]:
                    tg.fail("sendMessage", chat_id=chat, status=429, retry_after=1, times=1)
                tg.fail("sendMessage", status=429, retry_after=2, times=2)
                start = time.perf_counter()
                await deliver(app.bot, services)
                seconds = time.perf_counter() - start
            return await tally(tg, services, chats, seconds)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
                await process.wait()
            await services.close()
            await db.close()


async def deliver(bot: Any, services: Services) -> None:
    """Until every subscriber's digest is out, as the running bot would get there."""
    if services.db.dialect.is_sqlite:
        report = await deliver_daily(bot, services)
        while report.postponed:  # the catch-up job, as soon as the flood wait is over
            await asyncio.sleep(2)
            report = await deliver_daily(bot, services)
        return
    await deliver_leased(bot, services)
    while await pending(services):  # the leader's digest-fanout job, every idle interval
        if not await fan_out_batch(services, bot):
            await asyncio.sleep(services.settings.worker_idle_seconds)


async def tally(
    tg: FakeTelegram, services: Services, chats: list[int], seconds: float
) -> dict[str, Any]:
    texts = {
        r[0]
        for r in await services.db.fetchall(
            "SELECT t.messages FROM deliveries d JOIN digest_texts t ON t.id = d.text_id"
        )
    }
    expected = [m for text in texts for m in json.loads(text)]
    per_chat = Counter((m.chat_id, m.text) for m in tg.sent)
    return {
        "messages": len(tg.sent),
        "seconds": seconds,
        "lost": sum(1 for c in chats for text in expected if per_chat[(c, text)] == 0),
        "twice": sum(n - 1 for n in per_chat.values() if n > 1),
        "flood": sum(1 for r in tg.requests_for("sendMessage") if r.status == 429),
    }


def show(label: str, result: dict[str, Any]) -> None:
    rate = result["messages"] / result["seconds"]
    print(
        f"{label:<36} {result['messages']:>6} messages in {result['seconds']:6.1f} s:"
        f" {rate:6.1f} messages/s; lost {result['lost']}, duplicates {result['twice']},"
        f" flood waits {result['flood']}",
        flush=True,
    )


async def main(count: int, workers: int, delay: float) -> None:
    print(f"fan-out to {count} subscribers, fake Bot API answering after {delay * 1000:.0f} ms")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        show("sqlite, 1 process", await scenario(str(tmp / "a.db"), 0, count, delay, tmp))
        try:
            server = start_server()
        except NoServer as reason:
            print(f"PostgreSQL: skipped ({reason})")
            return
        try:
            for name, extra in (("one", 0), ("many", workers)):
                await create_database(server.url(), name)
                label = f"postgresql, leader + {extra} worker{'s' * (extra > 1)}"
                if not extra:
                    label = "postgresql, 1 process"
                show(label, await scenario(server.url(name), extra, count, delay, tmp))
        finally:
            stop_server(server)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=600)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--delay", type=float, default=0.05, help="the fake's answer delay, s")
    args = parser.parse_args()
    asyncio.run(main(args.subscribers, args.workers, args.delay))
