"""Storing posts on SQLite and on PostgreSQL (issue 12): PostRepository.store_many, the path
every source (bot, import, web preview) goes through, on the same posts in both.

- new: N posts of 40 channels in batches of 500 (an import's batches: one channel each);
- re-store: the same posts again, 2% of them edited (a re-import of an export);
- re-store unchanged: the same posts once more (nothing to write).

Figures only. Run: `.venv/bin/python bench/store_backends.py` (40,000 posts; `--posts N`).
PostgreSQL is tests/pg_server.py's throwaway server (fsync off), on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pg_server import create_database, start_server, stop_server  # noqa: E402

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CHANNELS = 40
BATCH = 500
WORDS = "армия новости министр заявил сегодня обстрел drone strike officials said".split()  # noqa: SIM905


def batches(count: int, edited: float, seed: int) -> list[list[Any]]:
    from storage.models import IncomingPost

    rng = random.Random(seed)
    per_channel = count // CHANNELS
    out = []
    for c in range(CHANNELS):
        posts = []
        for i in range(per_channel):
            text = " ".join(random.Random(c * 1_000_003 + i).choices(WORDS, k=30))
            changed = rng.random() < edited
            posts.append(
                IncomingPost(
                    chat_id=-1_000_000_000_000 - c,
                    message_id=i + 1,
                    posted_at=NOW - timedelta(seconds=per_channel - i),
                    text=text + (" (edited)" if changed else ""),
                    edited_at=NOW if changed else None,
                    channel_username=f"channel_{c}",
                    channel_title=f"Channel {c}",
                    source="import",
                    views=100 + i,
                )
            )
        out += [posts[i : i + BATCH] for i in range(0, len(posts), BATCH)]
    return out


async def timed(db: Any, work: list[list[Any]]) -> float:
    from storage.posts import PostRepository

    repo = PostRepository(db)
    start = time.perf_counter()
    for batch in work:
        await repo.store_many(batch, NOW)
    return time.perf_counter() - start


async def measure(target: str, count: int) -> dict[str, float]:
    from storage.db import open_backend

    db = await open_backend(target)
    try:
        new = await timed(db, batches(count, 0.0, 1))
        again = await timed(db, batches(count, 0.02, 2))
        same = await timed(db, batches(count, 0.02, 2))
    finally:
        await db.close()
    return {"new": count / new, "re-store, 2% edited": count / again, "unchanged": count / same}


async def both(count: int) -> None:
    server = start_server()
    try:
        with tempfile.TemporaryDirectory(prefix="fw-store-") as tmp:
            await create_database(server.url(), "bench_store")
            results = {
                "SQLite": await measure(str(Path(tmp) / "bench.db"), count),
                "PostgreSQL": await measure(server.url("bench_store"), count),
            }
    finally:
        stop_server(server)
    print(f"store_many, {count:,} posts of {CHANNELS} channels in batches of {BATCH}:")
    for name, figures in results.items():
        shown = ", ".join(f"{k} {v:,.0f} posts/s" for k, v in figures.items())
        print(f"  {name}: {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=40_000)
    asyncio.run(both(parser.parse_args().posts))


if __name__ == "__main__":
    main()
