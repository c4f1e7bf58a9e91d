"""Spike detection quality on a synthetic backtest, and the speed of trends at 1 M posts.

1. Backtest (pure bot.trends): 120 days, 20 framings with background rates from 0.2 to 10
   posts a day (log-spaced), weekly seasonality (weekends at 60%), channel churn (channels
   join and leave, so the day's total of stored posts moves), overdispersed noise, and 8
   injected spikes of 3x the framing's expected level (at least 5 posts, from several
   channels). Prints the share of injected spikes flagged on their day and the false spikes
   per week across all framings, for one seed and over 20 seeds.
2. Speed: 100 framings x 365 days at 1 M stored posts in a real SQLite file, through
   bot.trend_data.load_trends (the same path as the CLI, the digest and /trend); the
   budget is 1 s.
Run: `.venv/bin/python bench/trends.py [--skip-speed]`.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.trend_data import load_trends  # noqa: E402
from bot.trends import HISTORY_DAYS, DailyCount, TrendParams, compute_trends  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.dialect import SQLITE  # noqa: E402
from storage.trend_store import add_trend_posts_sql  # noqa: E402

DAYS, FRAMINGS, SPIKES = 120, 20, 8
START = date(2026, 1, 1)


def _gamma_poisson(rng: random.Random, mean: float, phi: float) -> int:
    """A negative binomial draw (variance phi * mean); Poisson for phi = 1."""
    if mean <= 0:
        return 0
    lam = rng.gammavariate(mean / (phi - 1), phi - 1) if phi > 1 else mean
    # Poisson by inversion (small means) or normal approximation (large ones).
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    k, p, s, u = 0, math.exp(-lam), math.exp(-lam), rng.random()
    while u > s:
        k += 1
        p *= lam / k
        s += p
    return k


def _totals(rng: random.Random) -> list[int]:
    """All stored posts per day: 40 channels, each active for a random stretch."""
    spans = []
    for _ in range(40):
        a = rng.randrange(-60, DAYS)
        spans.append((a, a + rng.randrange(30, 200)))
    totals = []
    for d in range(DAYS):
        active = sum(a <= d < b for a, b in spans)
        weekly = 0.6 if d % 7 in (5, 6) else 1.0
        totals.append(max(1, round(active * 15 * weekly)))
    return totals


def backtest(seed: int, phi: float = 1.0) -> tuple[int, int, float]:
    """(spikes flagged on their day, false spikes, weeks evaluated) for one seed."""
    rng = random.Random(seed)
    totals = _totals(rng)
    mean_total = sum(totals) / len(totals)
    rates = [0.2 * (50 ** (i / (FRAMINGS - 1))) for i in range(FRAMINGS)]  # 0.2 .. 10
    injected = set()
    while len(injected) < SPIKES:
        injected.add((rng.randrange(FRAMINGS), rng.randrange(HISTORY_DAYS + 5, DAYS)))
    counts: list[DailyCount] = []
    for f, rate in enumerate(rates):
        for d in range(DAYS):
            expected = rate * totals[d] / mean_total
            posts = _gamma_poisson(rng, expected, phi)
            if (f, d) in injected:
                posts = max(math.ceil(3 * expected), 5)
            channels = min(posts, 1 + sum(rng.random() < 0.5 for _ in range(max(posts - 1, 0))))
            if (f, d) in injected:
                channels = max(channels, 2)
            if posts:
                counts.append(DailyCount(f"f{f}", START + timedelta(days=d), posts, channels))
    by_day = {START + timedelta(days=d): t for d, t in enumerate(totals)}
    first = START + timedelta(days=HISTORY_DAYS)
    last = START + timedelta(days=DAYS - 1)
    firsts = {f"f{f}": START - timedelta(days=365) for f in range(FRAMINGS)}
    series = compute_trends(counts, by_day, firsts, first, last, TrendParams())
    hits = false = 0
    for slug, days in series.items():
        f = int(slug[1:])
        for day in days:
            if not day.spike:
                continue
            if (f, (day.day - START).days) in injected:
                hits += 1
            else:
                false += 1
    return hits, false, (DAYS - HISTORY_DAYS) / 7


def report_backtest() -> None:
    hits, false, weeks = backtest(1)
    print(
        f"backtest seed 1: {hits}/{SPIKES} injected spikes flagged ({hits / SPIKES:.0%}), "
        f"{false} false spikes in {weeks:.1f} weeks = {false / weeks:.2f} per week"
    )
    # Poisson background (the goal), then overdispersed counts (variance 1.5x the mean).
    for phi in (1.0, 1.5):
        total_hits = total_false = 0
        total_weeks = 0.0
        seeds = range(1, 21)
        for seed in seeds:
            h, f, w = backtest(seed, phi)
            total_hits, total_false, total_weeks = total_hits + h, total_false + f, total_weeks + w
        print(
            f"backtest 20 seeds, variance {phi:g}x mean: detection "
            f"{total_hits / (SPIKES * len(seeds)):.1%} (goal >= 90%), false spikes "
            f"{total_false / total_weeks:.2f} per week across {FRAMINGS} framings (goal <= 1)"
        )


def _fill(path: str, posts: int, framings: int, days: int) -> None:
    rng = random.Random(7)
    conn = sqlite3.connect(path)
    now = "2026-01-01T00:00:00+00:00"
    conn.executemany(
        "INSERT INTO channels (chat_id, username, title, added_at, updated_at, watchdog)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(-1000 - c, f"c{c}", f"C{c}", now, now, int(c == 0)) for c in range(60)],
    )
    conn.executemany(
        "INSERT INTO framings (id, slug, title, created_at) VALUES (?, ?, ?, ?)",
        [(f, f"framing-{f}", f"Framing {f}", now) for f in range(1, framings + 1)],
    )
    conn.executemany(
        "INSERT INTO terms (id, framing_id, text, key, created_at) VALUES (?, ?, ?, ?, ?)",
        [(f, f, f"term {f}", f"term {f}", now) for f in range(1, framings + 1)],
    )
    start = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    span = days * 86_400
    conn.execute("DROP TRIGGER posts_fts_insert")  # FTS is not what this measures
    # Posts are stored about in the order they were posted: ids grow with the date.
    dates = sorted(start + rng.randrange(span) for _ in range(posts))
    batch = 100_000
    for first in range(0, posts, batch):
        rows = [
            (i + 1, -1000 - rng.randrange(60), i + 1, dates[i], now)
            for i in range(first, min(first + batch, posts))
        ]
        conn.executemany(
            "INSERT INTO posts (id, chat_id, message_id, posted_at, stored_at)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        conn.executemany(
            "INSERT INTO matches (post_id, term_id, framing_id, start_pos, end_pos, matched_at)"
            " VALUES (?, ?, ?, 0, 1, ?)",
            [(r[0], f, f, now) for r in rows if (f := rng.randrange(1, 2 * framings)) <= framings],
        )
        # Their trend_posts rows, as the scan adds them (storage/trend_store.py).
        conn.execute(*add_trend_posts_sql(SQLITE, [r[0] for r in rows]))
    conn.commit()
    conn.close()


async def report_speed() -> None:
    posts, framings, days = 1_000_000, 100, 365
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        db = await open_database(path)
        await db.close()
        started = time.perf_counter()
        _fill(path, posts, framings, days)
        print(f"speed: filled {posts:,} posts in {time.perf_counter() - started:.0f} s")
        db = await open_database(path)
        tz = ZoneInfo("Europe/Kyiv")
        params = TrendParams()
        end = date(2025, 12, 31)
        for attempt in range(3):
            started, cpu = time.perf_counter(), time.process_time()
            series = await load_trends(db, tz, end - timedelta(days=days - 1), end, params)
            took, cpu = time.perf_counter() - started, time.process_time() - cpu
            rows = sum(len(s) for s in series.values())
            print(
                f"speed run {attempt + 1}: trends for {len(series)} framings x {days} days "
                f"({rows:,} framing-days) at {posts:,} posts: {took:.2f} s wall, {cpu:.2f} s CPU "
                f"(budget 1 s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
            )
        # Baseline: the same daily counts by joining matches to posts, without trend_posts.
        started = time.perf_counter()
        await db.fetchall(
            "SELECT m.framing_id, (p.posted_at + 7200) / 86400 AS day, count(DISTINCT p.id),"
            " count(DISTINCT p.chat_id) FROM matches m JOIN posts p ON p.id = m.post_id"
            " JOIN watched_channels c ON c.chat_id = p.chat_id WHERE c.watchdog = 0"
            " GROUP BY m.framing_id, day"
        )
        print(
            f"baseline: the counts query joining matches to posts alone takes "
            f"{time.perf_counter() - started:.2f} s wall"
        )
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-speed", action="store_true", help="only the backtest")
    args = parser.parse_args()
    report_backtest()
    if not args.skip_speed:
        asyncio.run(report_speed())


if __name__ == "__main__":
    main()
