"""Benchmark of `framewatch copy-db`: a realistic SQLite database copied to a throwaway
PostgreSQL and back, whole processes, in rows per second.

The database is made the way bench/scale.py makes one: a Telegram Desktop export of 40
channels imported with `framewatch import`, the default framing pack, and `framewatch scan`
(matches, trend rows, the near-duplicate and lemma indexes), so every large table is full.
The server is tests/pg_server.py's (initdb into a temporary folder, fsync off: the figure
is the copy's, not the disk's).

Run: `.venv/bin/python bench/copy_db.py` (100,000 posts; `--posts N` for another size).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scale import env, timed_command, write_export  # noqa: E402
from tests.pg_server import create_database, start_server, stop_server  # noqa: E402


def copy(db: Path, *args: str) -> tuple[float, int, str]:
    """(seconds, rows copied, stdout) of one `framewatch copy-db` process."""
    framewatch = Path(sys.executable).with_name("framewatch")
    start = time.perf_counter()
    done = subprocess.run(
        [str(framewatch), "copy-db", *args],
        env=env(db),
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    found = re.search(r"(\d+) tables, ([\d,]+) rows", done.stdout)
    assert found, done.stdout
    return seconds, int(found[2].replace(",", "")), done.stdout


def table_rows(db: Path) -> dict[str, int]:
    from storage.pg.copy_tables import COPIED

    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COPIED}  # noqa: S608
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fw-copy-bench-") as folder:
        tmp = Path(folder)
        export, db, back = tmp / "result.json", tmp / "source.db", tmp / "back.db"
        write_export(export, args.posts)
        seconds = timed_command(db, "import", str(export))
        print(f"seeded: import {seconds:.1f} s", flush=True)
        pack = ROOT / "bot/packs/default.toml"
        timed_command(db, "framings", "import", str(pack))
        seconds = timed_command(db, "scan")
        print(f"seeded: scan (matches, near-duplicate and lemma indexes) {seconds:.1f} s")
        before = table_rows(db)
        print("rows: " + ", ".join(f"{t} {n:,}" for t, n in before.items() if n > 100))
        server = start_server()
        try:
            asyncio.run(create_database(server.url(), "bench"))
            url = server.url("bench")
            there, rows, _ = copy(db, "--to", url)
            posts_rate = before["posts"] / there
            print(f"SQLite -> PostgreSQL: {rows:,} rows in {there:.1f} s ="
                  f" {rows / there:,.0f} rows/s ({posts_rate:,.0f} posts/s)")  # fmt: skip
            home, rows_back, _ = copy(db, "--from", url, "--to", f"sqlite:{back}")
            print(f"PostgreSQL -> SQLite: {rows_back:,} rows in {home:.1f} s ="
                  f" {rows_back / home:,.0f} rows/s")  # fmt: skip
            assert table_rows(back) == before, "the round trip lost rows"
            print("round trip: every table has the same row count")
        finally:
            stop_server(server)


if __name__ == "__main__":
    main()
