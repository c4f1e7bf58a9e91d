"""Benchmark of search by meaning (issue 11): posts from real Russian, Ukrainian and English
texts (../shared/data/posts), stored through the real store path, then:

1. search while nothing is lemma-indexed yet (every post queued: found by exact forms);
2. the background lemma indexing, as the scan job runs it (bot/lemma_index.py): posts/s;
3. 2-word queries through the real application against the fake Bot API (tests/
   fake_telegram.py), from pushing the update to the reply arriving: p50/p95 (goal p95
   <= 100 ms at 1 M posts); and the search call alone (bot.search.search_posts);
4. a few queries with filters and operators, p95 each.

Figures only, no assertions. Run: `.venv/bin/python bench/search.py` (1 M posts);
quick: `--posts 100000`. `--keep DIR` keeps the database; `--keep DIR --reuse` searches it again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bench.scale import ANALYST, NOW, TOKEN, percentile  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "posts"
DAYS = 30
CHANNELS = 40
TWO_WORDS = [
    "киевский режим",
    "жест доброй",
    "доброї волі",
    "военные учения",
    "мирные переговоры",
    "український народ",
    "удар дронов",
    "российские войска",
    "election campaign",
    "military aid",
]
FILTERED = [
    "киевский режим since:2026-11-20",
    "военные учения watchdog:no",
    '"российские войска" OR переговоры',
    "удар* NOT дрон",
]


def texts() -> list[str]:
    """Sentences of the real posts in ../shared/data/posts."""
    found: list[str] = []
    for path in sorted((DATA / "nktkln_ru_news_channels").glob("*.json")):
        found += [d["text"] for d in json.loads(path.read_text(encoding="utf-8")) if d.get("text")]
    for name, key in (
        ("unlp2025/train.jsonl", "content"),
        ("semeval2025_t10/ru_en_narratives.jsonl", "text"),
    ):
        with (DATA / name).open(encoding="utf-8") as lines:
            found += [json.loads(line)[key] for line in lines if line.strip()]
    sentences = [s.strip() for t in found for s in re.split(r"(?<=[.!?])\s+", t)]
    return [s for s in sentences if 20 <= len(s) <= 400]


async def store(db: Path, count: int) -> float:
    from storage.db import open_database

    database = await open_database(db)
    try:
        return await store_posts(database, count)
    finally:
        await database.close()


async def store_posts(db: Any, count: int) -> float:
    """Store `count` posts built from real sentences (all queued for the lemma index), one
    channel in ten a watchdog, on either database (bench/search_backends.py): seconds."""
    from storage.models import IncomingPost
    from storage.posts import PostRepository

    rng = random.Random(11)
    pool = texts()
    print(f"{len(pool)} sentences of real posts to build {count} posts from")
    posts = PostRepository(db)
    start = time.perf_counter()
    batch: list[IncomingPost] = []
    for i in range(count):
        chat = CHANNELS - i % CHANNELS
        batch.append(
            IncomingPost(
                chat_id=-1_000_000_000_000 - chat,
                message_id=i + 1,
                posted_at=NOW - timedelta(seconds=DAYS * 86400 * (count - i) // count),
                text=" ".join(rng.choices(pool, k=rng.randint(1, 4))),
                channel_username=f"channel_{chat}",
                channel_title=f"Channel {chat}",
            )
        )
        if len(batch) == 5000:
            await posts.store_many(batch, NOW)
            batch = []
    if batch:
        await posts.store_many(batch, NOW)
    async with db.atomic() as tx:  # ids are negative: -1 is "ends in 1"
        await tx.execute("UPDATE channels SET watchdog = 1 WHERE chat_id % 10 = -1")
    return time.perf_counter() - start


async def timed_searches(services: Any, queries: list[str], rounds: int) -> dict[str, float]:
    from bot.search import search_posts

    times = []
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter()
            await search_posts(services.search, query, services.settings.zone)
            times.append(time.perf_counter() - start)
    return {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "max": max(times)}


async def index(db: Path) -> tuple[float, int]:
    from bot.lemma_index import index_queued
    from storage.db import open_database
    from storage.lemma_index import LemmaIndexRepository

    database = await open_database(db)
    repo = LemmaIndexRepository(database)
    start = time.perf_counter()
    done = 0
    while True:
        added = await index_queued(repo, 2000, 50)
        done += added
        progress = await repo.progress()
        elapsed = time.perf_counter() - start
        print(f"  lemma index: {done} posts, {done / elapsed:.0f} posts/s", flush=True)
        if progress is None or not added:
            break
    await database.close()
    return time.perf_counter() - start, done


async def through_the_bot(db: Path, rounds: int) -> dict[str, Any]:
    from bot.app import build_application
    from bot.config import Settings
    from bot.context import Services
    from bot.inbox import DurablePoller
    from handlers import ALLOWED_UPDATES
    from storage.db import open_database
    from tests.fake_telegram import FakeTelegram, private_message

    result: dict[str, Any] = {}
    async with FakeTelegram(token=TOKEN) as tg:
        settings = Settings(
            _env_file=None,
            bot_token=TOKEN,
            api_base_url=tg.base_url,  # type: ignore[call-arg]
            db_path=str(db),
            admin_ids=frozenset({1}),
            timezone="UTC",
        )
        database = await open_database(db)
        services = Services.create(settings, database, lambda: NOW)
        async with database.transaction() as conn:  # updates of an earlier run (--reuse)
            await conn.execute("DELETE FROM inbox")
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
                    return time.perf_counter() - start, [
                        m.text for m in tg.sent_to(ANALYST)[before:]
                    ]

                await command("/search прогрев warm up")  # a running bot has loaded pymorphy3
                times: list[float] = []
                first: list[float] = []  # each query's first run: cold caches (SQLite pages,
                # the OS's, lemma keys of the words around the hits)
                for round_ in range(rounds):
                    for query in TWO_WORDS:
                        seconds, replies = await command(f"/search {query}")
                        assert "could not read" not in replies[0], (query, replies)
                        (times if round_ else first).append(seconds)
                result["bot"] = {
                    "count": len(times),
                    "p50": percentile(times, 0.5),
                    "p95": percentile(times, 0.95),
                    "max": max(times),
                    "first_p50": percentile(first, 0.5),
                    "first_max": max(first),
                }
                result["alone"] = await timed_searches(services, TWO_WORDS, rounds)
                result["filtered"] = {
                    q: await timed_searches(services, [q], max(3, rounds // 2)) for q in FILTERED
                }
                _, replies = await command("/search киевский режим")
                result["sample"] = replies[0][:600]
        finally:
            await database.close()
    return result


async def before_indexing(db: Path, rounds: int) -> dict[str, float]:
    from bot.config import Settings
    from bot.context import Services
    from storage.db import open_database

    settings = Settings(_env_file=None, db_path=str(db), timezone="UTC")  # type: ignore[call-arg]
    database = await open_database(db)
    try:
        services = Services.create(settings, database, lambda: NOW)
        return await timed_searches(services, TWO_WORDS, rounds)
    finally:
        await database.close()


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument(
        "--rounds", type=int, default=10, help="rounds of the 2-word queries (at least 2)"
    )
    parser.add_argument("--keep", help="folder to keep the database in")
    parser.add_argument("--reuse", action="store_true", help="search the kept database again")
    args = parser.parse_args()
    if args.rounds < 2:  # the first round is timed apart (cold caches): one more is needed
        parser.error("--rounds must be at least 2: the first round runs on cold caches")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "search-bench.db"
        asyncio.run(run(db, args))


def remove(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def size(db: Path) -> int:
    return db.stat().st_size


async def run(db: Path, args: argparse.Namespace) -> None:
    print(f"search benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.posts} posts")
    if not args.reuse:
        remove(db)
        seconds = await store(db, args.posts)
        print(f"stored {args.posts} posts in {seconds:.0f} s ({args.posts / seconds:.0f} posts/s)")
        early = await before_indexing(db, 2)
        print(
            f"search before lemma indexing (all posts queued, exact forms): p50 "
            f"{early['p50'] * 1000:.0f} ms, p95 {early['p95'] * 1000:.0f} ms"
        )
        seconds, done = await index(db)
        print(f"lemma-indexed {done} posts in {seconds:.0f} s ({done / seconds:.0f} posts/s)")
    print(f"database: {size(db) / 1e9:.2f} GB")
    result = await through_the_bot(db, args.rounds)
    b, a = result["bot"], result["alone"]
    print(
        f"/search of 2 words through the bot, {len(TWO_WORDS)} queries' first runs (cold): "
        f"p50 {b['first_p50'] * 1000:.0f} ms, max {b['first_max'] * 1000:.0f} ms"
    )
    print(
        f"  then {b['count']} more: p50 {b['p50'] * 1000:.0f} ms,"
        f" p95 {b['p95'] * 1000:.0f} ms, max {b['max'] * 1000:.0f} ms (goal p95 <= 100 ms)"
    )
    print(
        f"  the search call alone (search_posts): p50 {a['p50'] * 1000:.0f} ms, "
        f"p95 {a['p95'] * 1000:.0f} ms"
    )
    for query, f in result["filtered"].items():
        print(f"  {query!r}: p50 {f['p50'] * 1000:.0f} ms, p95 {f['p95'] * 1000:.0f} ms")
    print("sample reply:\n" + result["sample"])


if __name__ == "__main__":
    main()
