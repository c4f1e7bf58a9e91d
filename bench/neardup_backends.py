"""Benchmark: the near-duplicate index's batch path (bot.neardup_index.index_queued) on
SQLite and on PostgreSQL, since storage/neardup.py runs on both (issue 12).

A fresh database gets --posts synthetic posts (random words, a fifth of them copies of an
earlier post with a footer), all queued by the trigger; then every queued post is indexed in
batches of 500 (fingerprint, band lookup, exact check, one save per batch) and the time per
post printed. PostgreSQL is the tests' throwaway server (tests/pg_server.py), skipped
without its binaries.

Run: `.venv/bin/python bench/neardup_backends.py [--posts 20000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bot.neardup_index import index_queued  # noqa: E402
from storage.backend import Backend  # noqa: E402
from storage.db import open_backend  # noqa: E402
from storage.neardup import NearDupRepository  # noqa: E402
from tests.pg_server import NoServer, create_database, start_server, stop_server  # noqa: E402


def texts(count: int) -> list[str]:
    rng = random.Random(12)
    words = [
        "".join(rng.choices("абвгдеёжзиклмнопрстуфхцчшщэюя", k=rng.randint(3, 9)))
        for _ in range(3000)
    ]
    out: list[str] = []
    for i in range(count):
        if i > 10 and rng.random() < 0.2:
            out.append(out[rng.randrange(i)] + " Подписывайтесь на канал!")
        else:
            out.append(" ".join(rng.choices(words, k=rng.randint(25, 60))))
    return out


async def run(db: Backend, posts: list[str]) -> float:
    async with db.atomic() as tx:
        await tx.execute(
            "INSERT INTO channels (chat_id, title, added_at, updated_at) VALUES (-1, 'A', '', '')"
        )
        await tx.executemany(
            "INSERT INTO posts (chat_id, message_id, posted_at, text, stored_at)"
            " VALUES (-1, ?, 0, ?, '')",
            list(enumerate(posts, start=1)),
        )
    repo = NearDupRepository(db)
    start = time.perf_counter()
    done = await index_queued(repo, batch=500)
    elapsed = time.perf_counter() - start
    assert done == len(posts)
    pairs = await db.fetchval("SELECT count(*) FROM near_duplicates")
    keys = await db.fetchval("SELECT count(*) FROM post_bands")
    print(
        f"  {done} posts indexed in {elapsed:.2f} s ({elapsed / done * 1e3:.3f} ms/post),"
        f" {keys} band keys, {pairs} pairs"
    )
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=20_000)
    args = parser.parse_args()
    posts = texts(args.posts)
    with tempfile.TemporaryDirectory() as folder:
        print("SQLite:")
        db = await open_backend(str(Path(folder) / "bench.db"))
        try:
            await run(db, posts)
        finally:
            await db.close()
    try:
        server = start_server()
    except NoServer as reason:
        print(f"PostgreSQL: skipped ({reason})")
        return
    try:
        await create_database(server.url(), "bench")
        print("PostgreSQL:")
        db = await open_backend(server.url("bench"))
        try:
            await run(db, posts)
        finally:
            await db.close()
    finally:
        stop_server(server)


if __name__ == "__main__":
    asyncio.run(main())
