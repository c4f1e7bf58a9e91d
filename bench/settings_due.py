"""The every-minute question "whose digest is due now?" at 10,000 subscribers.

10,000 active subscribers in a real SQLite file; 2,000 chose their own time and zone
(24 distinct schedules besides the default), 500 of those chose framings. Times
bot.digest_plan.due_batches, the call the digest-minute job makes every minute: at the
bot's digest time (everyone due, never sent before) and later that day with every digest
sent (the usual minute). Budget: well under the minute between runs.
Run: `.venv/bin/python bench/settings_due.py`.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.context import Services  # noqa: E402
from bot.digest_plan import due_batches  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.timeutil import iso  # noqa: E402

SUBSCRIBERS, OWN, CHOSEN = 10_000, 2_000, 500
ZONES = ["Europe/Kyiv", "Europe/Warsaw", "America/New_York", "Asia/Tokyo", "UTC", "Europe/Berlin"]
TIMES = ["06:00", "07:30", "08:00", "12:00", "18:00", "20:15", "21:00", "22:45"]


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        db = await open_database(path)
        settings = Settings(_env_file=None, db_path=str(path))  # type: ignore[call-arg]
        start = datetime(2026, 11, 1, tzinfo=UTC)
        services = Services.create(settings, db, lambda: start)
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO subscribers (chat_id, active, subscribed_at, updated_at)"
                " VALUES (?, 1, ?, ?)",
                [(chat, iso(start), iso(start)) for chat in range(1, SUBSCRIBERS + 1)],
            )
            await conn.executemany(
                "INSERT INTO framings (id, slug, title, created_at) VALUES (?, ?, ?, ?)",
                [(n, f"framing-{n}", f"Framing {n}", iso(start)) for n in range(1, 41)],
            )
            await conn.executemany(
                "INSERT INTO subscriber_settings (chat_id, digest_time, timezone, compact,"
                " all_framings, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        chat,
                        TIMES[chat % len(TIMES)],
                        ZONES[chat % len(ZONES)],
                        chat % 2,
                        int(chat > CHOSEN),
                        iso(start),
                    )
                    for chat in range(1, OWN + 1)
                ],
            )
            await conn.executemany(
                "INSERT INTO subscriber_framings (chat_id, framing_id) VALUES (?, ?)",
                [(chat, 1 + (chat + k) % 40) for chat in range(1, CHOSEN + 1) for k in range(3)],
            )
        due_at = datetime(2026, 11, 25, 7, 0, 30, tzinfo=UTC)  # 09:00:30 in Kyiv
        await _measure("at the bot's time (09:00 Kyiv)", services, due_at)
        later = datetime(2026, 11, 25, 23, 59, tzinfo=UTC)
        await _mark_all_sent(services, later)
        await _measure("later the same day, every digest sent", services, later)
        await db.close()


async def _measure(label: str, services: Services, now: datetime) -> None:
    runs = []
    for _ in range(5):
        began = time.perf_counter()
        batches = await due_batches(services, now)
        runs.append(time.perf_counter() - began)
    due = sum(len(b.chat_ids) for b in batches)
    print(
        f"{label}: {due} subscribers due in {len(batches)} batches; "
        f"due_batches {min(runs) * 1000:.0f}-{max(runs) * 1000:.0f} ms (5 runs)"
    )


async def _mark_all_sent(services: Services, now: datetime) -> None:
    """Record every subscriber's latest period as sent, as after the day's deliveries."""
    for batch in await due_batches(services, now):
        await services.deliveries.claim_many(batch.chat_ids, batch.period.key, ["x"], now)
        await services.deliveries.progress_many(
            [(chat, batch.period.key, 1, "sent") for chat in batch.chat_ids], now
        )


if __name__ == "__main__":
    asyncio.run(main())
