"""How long each stored query of `framewatch serve` takes at 1 M posts (Datasette stops a
query at sql_time_limit_ms = 5000 ms). The database is bench/trends.py's: 1 M posts over 365
days in 60 channels, 100 framings, about half the posts matched; plus 20,000 near-duplicate
pairs (posts a few minutes apart in other channels). Each query runs as Datasette runs it:
a read-only connection with the view's SQL functions; parameters as a user would give them.
Run: `.venv/bin/python bench/serve_queries.py [--posts N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from trends import _fill  # noqa: E402

from bot.serve_sql import sql_functions  # noqa: E402
from storage.browser_queries import QUERIES, available, read_tables  # noqa: E402
from storage.db import open_database  # noqa: E402

PARAMS = {"framing": "framing-7", "days": "", "minutes": "", "min_channels": "", "q": "term"}
VERDICTS = (
    "CREATE TABLE verdicts (post_id INTEGER, framing_id INTEGER, term_id INTEGER,"
    " verdict TEXT, user_id INTEGER, decided_at TEXT, PRIMARY KEY (post_id, framing_id))"
)


def _pairs(path: str, count: int) -> None:
    rng = random.Random(11)
    conn = sqlite3.connect(path)
    top = conn.execute("SELECT max(id) FROM posts").fetchone()[0]
    rows = set()
    while len(rows) < count:
        a = rng.randrange(1, top - 50)
        rows.add((a, a + rng.randrange(1, 50), 0.9))
    conn.executemany("INSERT OR IGNORE INTO near_duplicates VALUES (?, ?, ?)", sorted(rows))
    conn.execute(VERDICTS)
    conn.execute(
        "INSERT INTO verdicts SELECT post_id, framing_id, term_id, 'correct', 1, ''"
        " FROM matches WHERE post_id % 50 = 0"
    )
    conn.commit()
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=1_000_000)
    posts = parser.parse_args().posts
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        asyncio.run(_create(path))
        _fill(path, posts, 100, 365)
        _pairs(path, 20_000)
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        for name, arity, function in sql_functions(ZoneInfo("Europe/Kyiv")):
            conn.create_function(name, arity, function, deterministic=True)
        for query in available(read_tables(path)):
            values = {k: v for k, v in PARAMS.items() if f":{k}" in query.sql}
            if ":link" in query.sql:
                values["link"] = "https://t.me/c5/1234"
            started = time.perf_counter()
            rows = conn.execute(query.sql, values).fetchall()
            took = (time.perf_counter() - started) * 1000
            print(f"{query.name:20} {took:8.0f} ms  {len(rows):6} rows  at {posts:,} posts")
        conn.close()
    print(f"(of {len(QUERIES)} stored queries; Datasette's limit here is 5000 ms)")


async def _create(path: str) -> None:
    db = await open_database(path)
    await db.close()


if __name__ == "__main__":
    main()
