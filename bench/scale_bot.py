"""bench/scale.py's steps through the bot: the real application (build_application) against
the fake Bot API (tests/fake_telegram.py): /search and /digest timed from pushing the update
to the reply arriving, and the daily digest fanned out with flood waits injected, on the
SQLite file or the PostgreSQL URL given.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.scale_pg import Clock, is_pg

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a digest time (09:00 UTC)
TOKEN = "123456:BENCH-token"
ANALYST = 7
SEARCHES = [
    "жест доброй воли",
    '"перегруппировка войск"',
    "армия",
    "drone strike",
    "перегруппир*",
    "officials OR министр",
    "нацисты NOT киев",
    "biolab*",
    "водопровод",
    "gesture of goodwill",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def through_the_bot(
    target: str, subscribers: int, rounds: int, clock: Clock
) -> dict[str, Any]:
    from bot.app import build_application
    from bot.config import Settings
    from bot.context import Services
    from bot.delivery import deliver_daily
    from bot.inbox import DurablePoller
    from handlers import ALLOWED_UPDATES
    from storage.db import open_backend
    from tests.fake_telegram import FakeTelegram, private_message

    result: dict[str, Any] = {}
    async with FakeTelegram(token=TOKEN) as tg:
        settings = Settings(
            _env_file=None,
            bot_token=TOKEN,
            api_base_url=tg.base_url,  # type: ignore[call-arg]
            admin_ids=frozenset({1}),
            timezone="UTC",
            **({"database_url": target} if is_pg(target) else {"db_path": target}),
        )
        database = await open_backend(target)
        services = Services.create(settings, database, lambda: NOW)
        async with database.atomic() as conn:  # what an earlier run left (--reuse)
            for table in ("inbox", "deliveries", "subscribers"):
                await conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        await services.roles.grant(ANALYST, "analyst", 1, NOW)
        app = build_application(settings, services)
        try:
            async with app:
                poller = DurablePoller(app, services, ALLOWED_UPDATES, poll_timeout=0)
                offset: int | None = None

                async def command(text: str) -> tuple[float, list[str]]:
                    nonlocal offset
                    before = len(tg.sent_to(ANALYST))
                    start = time.perf_counter()
                    tg.push_update(private_message(ANALYST, text))
                    offset = await poller.fetch_once(offset)
                    await tg.wait_for_sent(before + 1, chat_id=ANALYST, timeout=60)
                    replies = [m.text for m in tg.sent_to(ANALYST)[before:]]
                    return time.perf_counter() - start, replies

                await command("/search warm up")
                clock.lap()
                times: list[float] = []
                slowest: dict[str, float] = {}
                for _ in range(rounds):
                    for query in SEARCHES:
                        seconds, replies = await command(f"/search {query}")
                        assert replies and "could not read" not in replies[0], (query, replies)
                        times.append(seconds)
                        slowest[query] = max(slowest.get(query, 0.0), seconds)
                alone = []  # the repository call only: what the bot adds is the rest
                for _ in range(rounds):
                    for query in SEARCHES:
                        start = time.perf_counter()
                        await services.search.search(query, limit=10)
                        alone.append(time.perf_counter() - start)
                result["search_alone"] = percentile(alone, 0.95)
                result["search_cpu"] = clock.lap()
                result["search"] = {
                    "count": len(times),
                    "p50": percentile(times, 0.5),
                    "p95": percentile(times, 0.95),
                    "max": max(times),
                }
                digest_times = []
                for _ in range(3):
                    seconds, replies = await command("/digest")
                    digest_times.append(seconds)
                result["digest"] = {
                    "seconds": statistics.median(digest_times),
                    "messages": len(replies),
                    "chars": sum(map(len, replies)),
                    "cpu": clock.lap(),
                }
                result["fanout"] = await fan_out(tg, app, services, subscribers, deliver_daily)
                result["fanout"]["cpu"] = clock.lap()
        finally:
            await database.close()
    return result


async def fan_out(tg: Any, app: Any, services: Any, count: int, deliver: Any) -> dict[str, Any]:
    chats = list(range(10_000_001, 10_000_001 + count))
    async with services.db.atomic() as conn:
        await conn.executemany(
            "INSERT INTO subscribers (chat_id, active, subscribed_at, updated_at)"
            " VALUES (?, 1, ?, ?)",
            [(c, (NOW - timedelta(days=2)).isoformat(), NOW.isoformat()) for c in chats],
        )
    # Flood waits: every 500th subscriber's first attempt, and twice whoever comes next.
    for chat in chats[250::500]:
        tg.fail("sendMessage", chat_id=chat, status=429, retry_after=1, times=1)
    tg.fail("sendMessage", status=429, retry_after=2, times=2)
    before = len(tg.sent)
    start = time.perf_counter()
    report = await deliver(app.bot, services)
    seconds = time.perf_counter() - start
    sent = tg.sent[before:]
    per_chat = Counter((m.chat_id, m.text) for m in sent)
    (messages,) = {
        r[0]
        for r in await services.db.fetchall(
            "SELECT t.messages FROM deliveries d JOIN digest_texts t ON t.id = d.text_id"
            " WHERE d.period = ?",
            (report.period,),
        )
    }
    expected = json.loads(messages)
    lost = sum(1 for c in chats for text in expected if per_chat[(c, text)] == 0)
    twice = sum(1 for n in per_chat.values() if n > 1)
    flood = sum(1 for r in tg.requests_for("sendMessage") if r.status == 429)
    return {
        "subscribers": count,
        "messages": len(sent),
        "per_digest": len(expected),
        "seconds": seconds,
        "lost": lost,
        "twice": twice,
        "flood_waits": flood,
        "postponed": len(report.postponed),
    }
