"""Benchmark: the webhook intake (`framewatch run --webhook`) beside polling.

The real application on a fresh SQLite file; --posts channel posts in 20 channels (each post
then an edit). Webhook: POSTed to the listener over --connections connections at once
(Telegram's default max_connections is 40), each answered only once saved and committed.
Figures: updates/s accepted (every 200 received), and updates/s until every update was
handled; beside them bench/intake.py's polling throughput on the same updates.

Run: `.venv/bin/python bench/webhook.py` (options: --posts N --connections N).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

import aiohttp  # noqa: E402

from bench.intake import throughput  # noqa: E402
from bot.app import build_application  # noqa: E402
from bot.context import Services  # noqa: E402
from bot.inbox import MAX_CONCURRENT, DurablePoller  # noqa: E402
from bot.webhook import SECRET_HEADER, WebhookConfig, WebhookIntake  # noqa: E402
from handlers import ALLOWED_UPDATES  # noqa: E402
from storage.db import open_database  # noqa: E402
from tests.conftest import TOKEN, FakeClock, make_settings  # noqa: E402
from tests.fake_telegram import FakeTelegram, channel_post  # noqa: E402

SECRET = "bench-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def updates(posts: int) -> list[dict[str, Any]]:
    out = []
    for n in range(posts):
        chat, message_id = -1001000000000 - n % 20, n // 20 + 1
        out.append(channel_post(chat, message_id, f"post {n}: жест доброй воли"))
        out.append(channel_post(chat, message_id, f"post {n}, edited", edited=True))
    return [{"update_id": 1000 + i, **u} for i, u in enumerate(out)]


async def webhook_rates(posts: int, connections: int) -> tuple[float, float]:
    bodies = [json.dumps(u).encode() for u in updates(posts)]
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        async with FakeTelegram(token=TOKEN) as tg:
            settings = make_settings(Path(folder), tg.base_url)
            db = await open_database(settings.db_path)
            services = Services.create(settings, db, FakeClock())
            app = build_application(settings, services)
            try:
                async with app:
                    poller = DurablePoller(app, services, ALLOWED_UPDATES, 0, MAX_CONCURRENT)
                    config = WebhookConfig("https://bench.example/hook", SECRET, "127.0.0.1", port)
                    intake = WebhookIntake(app, services, poller, config, ALLOWED_UPDATES)
                    stop = asyncio.Event()
                    task = asyncio.create_task(intake.run(stop))
                    await tg.wait_for_request("setWebhook")
                    accepted, handled = await _post_all(bodies, port, connections, services)
                    stop.set()
                    await task
            finally:
                await services.close()
                await db.close()
    return len(bodies) / accepted, len(bodies) / handled


async def _post_all(
    bodies: list[bytes], port: int, connections: int, services: Services
) -> tuple[float, float]:
    gate = asyncio.Semaphore(connections)
    url = f"http://127.0.0.1:{port}/hook"
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(body: bytes) -> None:
            async with gate, session.post(url, data=body, headers=headers) as response:
                assert response.status == 200, response.status

        started = time.perf_counter()
        await asyncio.gather(*(post(b) for b in bodies))
        accepted = time.perf_counter() - started
    while (await services.inbox.counts()).pending:  # noqa: ASYNC110 - a count in SQLite
        await asyncio.sleep(0.01)
    return accepted, time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000, help="channel posts (each edited)")
    parser.add_argument("--connections", type=int, default=40, help="POSTs at once")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # posts of unregistered channels wait for approval
    accepted, handled = await webhook_rates(args.posts, args.connections)
    polled = await throughput(MAX_CONCURRENT, args.posts)
    print(f"{2 * args.posts} channel updates in 20 channels:")
    print(
        f"  webhook, {args.connections} connections: {accepted:,.0f} updates/s accepted "
        f"(saved before each 200), {handled:,.0f} updates/s handled"
    )
    print(f"  polling (batches of 100): {polled:,.0f} updates/s handled")


if __name__ == "__main__":
    asyncio.run(main())
