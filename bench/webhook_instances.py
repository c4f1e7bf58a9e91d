"""Benchmark: updates/s accepted by one `framewatch run --webhook` vs two on one PostgreSQL.

Real processes (tests/test_webhook_instances.py's Instance), tests/pg_server.py's throwaway
server (fsync off) and the fake Bot API. --updates channel posts in 20 channels are POSTed
over --connections connections at once (Telegram's default max_connections is 40), spread
round-robin over the listeners; each 200 comes only once the update is committed. Figures:
updates/s accepted (every 200 received), and updates/s until the leader handled them all.
Both runs in one invocation, on the same machine: the second figure is the baseline's peer.

Run: `.venv/bin/python bench/webhook_instances.py` (options: --updates N --connections N).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from tests.conftest import TOKEN  # noqa: E402
from tests.fake_telegram import FakeTelegram, channel_post  # noqa: E402
from tests.pg_server import create_database, start_server, stop_server  # noqa: E402
from tests.test_webhook_instances import (  # noqa: E402
    LEADS,
    Instance,
    inbox_state,
    wait_for_log,
)


def bodies(count: int) -> list[dict[str, Any]]:
    return [
        {"update_id": 1000 + n, **channel_post(-1001000000000 - n % 20, n // 20 + 1, f"post {n}")}
        for n in range(count)
    ]


async def post_all(instances: list[Instance], updates: list[dict[str, Any]], conns: int) -> None:
    queue = list(enumerate(updates))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conns)) as session:

        async def worker() -> None:
            while queue:
                n, body = queue.pop()
                status = await instances[n % len(instances)].post(session, body)
                assert status == 200, status

        await asyncio.gather(*(worker() for _ in range(conns)))


async def until_handled(url: str, count: int) -> None:
    async with asyncio.timeout(600):
        while (await inbox_state(url))[1] < count:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def one_run(
    url: str, listeners: int, count: int, conns: int, tmp: Path
) -> tuple[float, float]:
    async with FakeTelegram(token=TOKEN) as tg:
        instances = [Instance(tmp, f"run{listeners}-{i}") for i in range(listeners)]
        try:
            for i, instance in enumerate(instances):
                await instance.start(tg, tmp, url)
                if i == 0:
                    await wait_for_log(instance.log, LEADS)
            updates = bodies(count)
            start = time.perf_counter()
            try:
                await post_all(instances, updates, conns)
            except AssertionError:
                for instance in instances:
                    print(instance.log.read_text()[-2000:], file=sys.stderr)
                raise
            accepted = time.perf_counter() - start
            await until_handled(url, count)
            handled = time.perf_counter() - start
        finally:
            for instance in instances:
                await instance.stop()
    return count / accepted, count / handled


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=40)
    args = parser.parse_args()
    server = start_server()
    try:
        with tempfile.TemporaryDirectory(prefix="fw-webhook-instances-") as folder:
            for listeners in (1, 2):
                name = f"bench{listeners}"
                await create_database(server.url(), name)
                accepted, handled = await one_run(
                    server.url(name), listeners, args.updates, args.connections, Path(folder)
                )
                print(
                    f"{listeners} listener(s): {args.updates} updates over {args.connections}"
                    f" connections: accepted {accepted:,.0f} updates/s,"
                    f" handled {handled:,.0f} updates/s",
                    flush=True,
                )
    finally:
        stop_server(server)


if __name__ == "__main__":
    asyncio.run(main())
