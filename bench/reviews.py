"""What reviews cost: counting queries with verdicts, the next review card, and /suggest.

1. At 1 M posts (bench/trends.py's synthetic database, ~500 k matches over 100 framings):
   trends for 100 framings x 365 days, and the next /review card, before and after 20,000
   verdicts (half of them rejecting their match).
2. /suggest's counting (bot.suggest.suggest) over real Russian news posts
   (../shared/data/posts/nktkln_ru_news_channels): 2,000 background posts, 300 verdicts.
Run: `.venv/bin/python bench/reviews.py [--posts N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.trends import _fill  # noqa: E402
from bot.suggest import Doc, suggest  # noqa: E402
from bot.trend_data import load_trends  # noqa: E402
from bot.trends import TrendParams  # noqa: E402
from handlers.suggest import NEWEST_POSTS  # noqa: E402
from storage.db import Database, open_database  # noqa: E402
from storage.framings import FramingRepository  # noqa: E402
from storage.verdicts import VerdictRepository  # noqa: E402

NEWS = ROOT.parent / "shared" / "data" / "posts" / "nktkln_ru_news_channels"


async def _timed(label: str, work: object, runs: int = 3) -> None:
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()  # type: ignore[operator]
        took.append(time.perf_counter() - started)
    print(f"{label}: best {min(took) * 1000:.0f} ms of {runs}")


async def _queries(db: Database, label: str) -> None:
    end = date(2025, 12, 31)
    tz, params = ZoneInfo("Europe/Kyiv"), TrendParams()
    repo = VerdictRepository(db)
    await _timed(
        f"{label}: trends 100 framings x 365 days",
        lambda: load_trends(db, tz, end - timedelta(days=364), end, params),
    )
    await _timed(f"{label}: next /review card (all framings)", lambda: repo.next_card(None, None))
    await _timed(f"{label}: next /review card (one framing)", lambda: repo.next_card(7, None))
    await _timed(f"{label}: /framings counts", FramingRepository(db).list_with_stats)


def _add_verdicts(path: str, count: int) -> int:
    """Verdicts on `count` random matches (all of them when fewer); returns how many."""
    rng = random.Random(3)
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT post_id, framing_id, term_id FROM matches").fetchall()
    count = min(count, len(rows))
    verdicts = ("correct", "wrong_framing", "correct", "debunk")
    conn.executemany(
        "INSERT OR IGNORE INTO verdicts (post_id, framing_id, term_id, verdict, user_id,"
        " decided_at) VALUES (?, ?, ?, ?, 2, '2026-01-01T00:00:00+00:00')",
        [(*r, verdicts[k % 4]) for k, r in enumerate(rng.sample(rows, count))],
    )
    conn.commit()
    conn.close()
    return count


async def report_queries(posts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        await (await open_database(path)).close()
        started = time.perf_counter()
        _fill(path, posts, 100, 365)
        print(f"filled {posts:,} posts in {time.perf_counter() - started:.0f} s")
        db = await open_database(path)
        try:
            await _queries(db, "no verdicts")
            judged = _add_verdicts(path, 20_000)
            await _queries(db, f"{judged:,} verdicts")
        finally:
            await db.close()


def report_suggest() -> None:
    if not NEWS.is_dir():
        print(f"suggest: skipped, {NEWS} is absent")
        return
    texts = [
        m["text"]
        for f in sorted(NEWS.glob("*_messages.json"))
        for m in json.loads(f.read_text(encoding="utf-8"))
        if isinstance(m.get("text"), str) and m["text"].strip()
    ]
    docs = [Doc(t, f"https://t.me/x/{n}") for n, t in enumerate(texts)]
    correct, wrong = docs[:200], docs[200:300]
    background = docs[300 : 300 + NEWEST_POSTS]
    started = time.perf_counter()
    found = suggest(wrong, correct, background, ["жест доброй воли"])
    took = time.perf_counter() - started
    words = sum(len(d.text.split()) for d in [*correct, *wrong, *background])
    print(
        f"suggest: {len(correct)} correct, {len(wrong)} rejected, {len(background):,} background "
        f"posts ({words:,} words) counted and ranked in {took:.2f} s (cold lemma caches); "
        f"top new term {found.new_terms[0].phrase!r} z={found.new_terms[0].z:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=1_000_000)
    args = parser.parse_args()
    report_suggest()
    asyncio.run(report_queries(args.posts))


if __name__ == "__main__":
    main()
