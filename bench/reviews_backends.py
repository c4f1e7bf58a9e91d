"""Benchmark: trends, the next /review card and /framings counts on SQLite and PostgreSQL
(storage/trends.py and storage/verdicts.py run on both, issue 12).

bench/trends.py's synthetic database (--posts posts, 100 framings over 365 days) with
20,000 verdicts (half of them rejecting their match, as in bench/reviews.py), queried on
SQLite, then copied to the tests' throwaway PostgreSQL (tests/pg_server.py) by
`framewatch copy-db` and queried there, the same rows: once as copied (no planner statistics:
copy-db does not ANALYZE), once after VACUUM ANALYZE (what autovacuum does soon after).

Run: `.venv/bin/python bench/reviews_backends.py [--posts 200000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bench.reviews import _add_verdicts, _queries  # noqa: E402
from bench.trends import _fill  # noqa: E402
from storage.db import open_backend, open_database  # noqa: E402
from tests.pg_server import NoServer, create_database, start_server, stop_server  # noqa: E402


async def report(posts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        await (await open_database(path)).close()
        _fill(path, posts, 100, 365)
        judged = _add_verdicts(path, 20_000)
        print(f"{posts:,} posts, {judged:,} verdicts")
        db = await open_backend(path)
        try:
            await _queries(db, "SQLite")  # type: ignore[arg-type]
        finally:
            await db.close()
        try:
            server = start_server()
        except NoServer as reason:
            print(f"PostgreSQL: skipped ({reason})")
            return
        try:
            await create_database(server.url(), "bench")
            url = server.url("bench")
            started = time.perf_counter()
            copy = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "framewatch"), "copy-db", "--from",
                f"sqlite:{path}", "--to", url, stdout=asyncio.subprocess.DEVNULL, cwd=tmp,
            )  # fmt: skip
            assert await copy.wait() == 0
            print(f"copied to PostgreSQL in {time.perf_counter() - started:.0f} s")
            db = await open_backend(url)
            try:
                await _queries(db, "PostgreSQL, right after copy-db")  # type: ignore[arg-type]
                conn = await asyncpg.connect(url)
                await conn.execute("VACUUM ANALYZE")  # what autovacuum does soon after
                await conn.close()
                await _queries(db, "PostgreSQL, after VACUUM ANALYZE")  # type: ignore[arg-type]
            finally:
                await db.close()
        finally:
            stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=200_000)
    asyncio.run(report(parser.parse_args().posts))


if __name__ == "__main__":
    main()
