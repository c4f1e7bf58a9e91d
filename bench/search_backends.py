"""Search by meaning on SQLite and on PostgreSQL (issue 12): the same posts (real Russian,
Ukrainian and English sentences, as bench/search.py builds them) stored in both, lemma-indexed
in both, then the same queries on both: time per query (p50/p95, the search call alone:
bot.search.search_posts) and whether both found the same posts (compared as sets, since
ts_rank and bm25 order near-equals differently, with a limit above any query's count).

Figures only. Run: `.venv/bin/python bench/search_backends.py` (20,000 posts; `--posts N`).
PostgreSQL is tests/pg_server.py's throwaway server (fsync off), on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bench.scale import percentile  # noqa: E402
from bench.search import FILTERED, TWO_WORDS, store_posts  # noqa: E402
from tests.pg_server import create_database, start_server, stop_server  # noqa: E402

MORE = ["режим", '"киевский режим"', "переговор*", "удар OR обстрел", "войска NOT российские"]
LIMIT = 1000  # every query's posts: above the number any of them finds here


async def store(db: Any, count: int) -> float:
    """Store the posts (all queued for the lemma index): seconds."""
    return await store_posts(db, count)


async def index(db: Any) -> float:
    from bot.lemma_index import index_queued
    from storage.lemma_index import LemmaIndexRepository

    start = time.perf_counter()
    await index_queued(LemmaIndexRepository(db), 2000)
    return time.perf_counter() - start


async def searches(
    db: Any, queries: list[str], rounds: int
) -> tuple[dict[str, set[int]], list[float]]:
    from bot.search import search_posts
    from storage.search import SearchRepository

    repo, zone = SearchRepository(db), ZoneInfo("UTC")
    found: dict[str, set[int]] = {}
    times = []
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter()
            result = await search_posts(repo, query, zone, LIMIT)
            times.append(time.perf_counter() - start)
            found[query] = {h.message_id for h in result.hits}
    return found, times


async def run(count: int, rounds: int, folder: Path, url: str) -> None:
    from storage.db import open_backend

    queries = TWO_WORDS + FILTERED + MORE
    queued: dict[str, dict[str, set[int]]] = {}  # before lemma indexing: by exact forms
    indexed: dict[str, dict[str, set[int]]] = {}
    for name, target in (("SQLite", str(folder / "bench.db")), ("PostgreSQL", url)):
        db = await open_backend(target)
        try:
            stored = await store(db, count)
            queued[name], _ = await searches(db, queries, 1)
            lemmatised = await index(db)
            indexed[name], times = await searches(db, queries, rounds)
        finally:
            await db.close()
        print(
            f"{name}: stored {count:,} posts in {stored:.1f} s ({count / stored:,.0f}/s),"
            f" lemma-indexed in {lemmatised:.1f} s ({count / lemmatised:,.0f}/s);"
            f" {len(times)} searches: p50 {percentile(times, 0.5) * 1000:.1f} ms,"
            f" p95 {percentile(times, 0.95) * 1000:.1f} ms",
            flush=True,
        )
    for when, results in (("queued (exact forms)", queued), ("lemma-indexed", indexed)):
        same = [q for q in queries if results["SQLite"][q] == results["PostgreSQL"][q]]
        total = sum(len(results["SQLite"][q]) for q in queries)
        print(f"{when}: same posts for {len(same)} of {len(queries)} queries ({total:,} hits)")
        for query in queries:
            a, b = results["SQLite"][query], results["PostgreSQL"][query]
            if a != b:
                print(
                    f"  differs: {query!r}: SQLite {len(a)}, PostgreSQL {len(b)}, both {len(a & b)}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    server = start_server()
    try:
        asyncio.run(create_database(server.url(), "bench"))
        with tempfile.TemporaryDirectory(prefix="fw-search-bench-") as folder:
            asyncio.run(run(args.posts, args.rounds, Path(folder), server.url("bench")))
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
