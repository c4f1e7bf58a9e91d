"""Benchmark: one scan backlog on PostgreSQL shared by 1, 2 and 3 processes running the
claimed scan steps (bot/work_scan.py, as `framewatch worker` runs them), beside the plain
one-process scan (bot.scan.run_scan) on SQLite and on PostgreSQL as baselines.

The backlog: N posts (real RU/UK/EN texts from ../shared/data/posts when present, else
generated sentences) and 300 terms of 30 framings picked from the texts' frequent words and
pairs (bench/scan.py's generators), written once into a template and copied for each run
(PostgreSQL: CREATE DATABASE ... TEMPLATE; SQLite: the file). Each process opens the
database and compiles the rules, says "ready", and starts when every process is ready: wall
time is the scan alone, from the start to the last process's exit. CPU: the processes' own
(time.process_time, matching threads included) and, for the throwaway server this bench
starts, the PostgreSQL server's (/proc: the postmaster, its live children and the children
it reaped). Figures only, no assertions; the same matches every way is checked and printed.

Run: `.venv/bin/python bench/scan_workers.py` (50,000 posts; `--posts N`, `--processes 1 2 3`).
Another bench calls measure(target, processes) on a database holding a backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bench.scan import (  # noqa: E402
    CHANNELS,
    FRAMINGS,
    NOW,
    TERMS,
    pick_terms,
    post_rows,
    real_texts,
    synthetic_texts,
)

CHUNK = 5000
TITLES = {
    0: "PostgreSQL, run_scan, 1 process",
    1: "PostgreSQL, claimed, 1 process",
    -2: "PostgreSQL, claimed, 2, one lock",
}


@dataclass(frozen=True, slots=True)
class Figures:
    processes: int
    wall: float  # seconds, first start to last exit
    cpu: float  # CPU seconds of the scanning processes, from their start
    server_cpu: float | None  # CPU seconds of the PostgreSQL server meanwhile (None: unknown)
    matches: int
    scanned: int  # posts no longer waiting for a scan
    waited: float  # seconds the processes waited to begin write transactions (lock, pool)

    def line(self, label: str) -> str:
        server = "n/a" if self.server_cpu is None else f"{self.server_cpu:.1f}"
        total = self.cpu + (self.server_cpu or 0)
        return (
            f"{label:<34} wall {self.wall:5.1f} s  CPU {self.cpu:5.1f} s + server {server:>4} s"
            f" = {total:5.1f} s ({total / self.wall:.2f} cores)  {self.scanned / self.wall:5.0f}"
            f" posts/s  waited {self.waited:4.1f} s  {self.matches} matches"
        )


def measure(
    target: str,
    processes: int,
    *,
    plain: bool = False,
    server_pid: int | None = None,
    one_lock: bool = False,
) -> Figures:
    """Scan the backlog of the database at `target` (a PostgreSQL URL or a SQLite path) with
    `processes` processes running claimed scan steps (plain: bot.scan.run_scan, one process);
    server_pid: the postmaster's pid, to count the server's CPU too; one_lock: every write
    transaction takes the write lock exclusively, the scan's too (as before shared ones)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", target]
    flags = [*(["--plain"] if plain else []), *(["--one-lock"] if one_lock else [])]
    children = [
        subprocess.Popen(
            [*command, *flags],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(processes)
    ]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        server_before = server_cpu(server_pid)
        start = time.perf_counter()
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        said = [child.communicate()[0].split() for child in children]  # [..., cpu, waited]
        cpu, waited = sum(float(s[-2]) for s in said), sum(float(s[-1]) for s in said)
        wall = time.perf_counter() - start
        server_after = server_cpu(server_pid)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    server = None if server_before is None or server_after is None else server_after - server_before
    matches, scanned = asyncio.run(counts(target))
    return Figures(processes, wall, cpu, server, matches, scanned, waited)


def server_cpu(pid: int | None) -> float | None:
    """CPU seconds of a PostgreSQL server: the postmaster and its reaped children, plus its
    live children (backends, checkpointer, autovacuum ...), from /proc."""
    if pid is None:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        # fields[0] is the state (stat field 3): ppid is field 4, utime..cstime 14..17.
        if int(entry.name) == pid:
            total += sum(int(f) for f in fields[11:15])
        elif int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


async def counts(target: str) -> tuple[int, int]:
    from storage.db import open_backend

    db = await open_backend(target)
    try:
        matches = int(await db.fetchval("SELECT count(*) FROM matches"))
        scanned = int(await db.fetchval("SELECT count(*) FROM post_scan WHERE needs_scan = 0"))
        return matches, scanned
    finally:
        await db.close()


def timed_atomic(db: Any, one_lock: bool) -> list[float]:
    """Wrap db.atomic to add up the time from asking for a write transaction to getting
    it (the pool, BEGIN, the write lock); one_lock: never in shared mode."""
    waited = [0.0]
    original = db.atomic

    @asynccontextmanager
    async def atomic(*, shared: bool = False) -> AsyncIterator[Any]:
        asked = time.perf_counter()
        async with original(shared=shared and not one_lock) as tx:
            waited[0] += time.perf_counter() - asked
            yield tx

    db.atomic = atomic
    return waited


async def worker(target: str, plain: bool, one_lock: bool) -> None:
    """One scanning process: ready, wait for "go", scan until nothing is left it can take,
    print its CPU seconds and the seconds it waited to begin write transactions."""
    from bot.clock import utc_now
    from bot.config import Settings
    from bot.context import Services
    from bot.scan import run_scan
    from bot.work_scan import ScanWork, work_step
    from storage.db import open_backend

    db = await open_backend(target)
    waited = timed_atomic(db, one_lock)
    try:
        settings = Settings(_env_file=None, bot_token="1:T", lease_seconds=600)
        services = Services.create(settings, db, utc_now)
        work = ScanWork.of(services)
        await work.rules.current(work.framings)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        started = time.process_time()
        if plain:
            await run_scan(work.framings, work.matches, utc_now, rules=work.rules)
        else:
            while await work_step(work):
                pass  # others hold what is left: they finish it
        print(f"cpu {time.process_time() - started:.3f} {waited[0]:.3f}", flush=True)
    finally:
        await db.close()


async def populate(target: str, posts: int, seed: int) -> str:
    """The backlog on an empty database: terms (as /watch adds them), channels and posts
    waiting for a scan; returns where the texts came from."""
    from bot.framings import FramingError, check_new_term
    from storage.db import open_backend
    from storage.framings import FramingRepository

    rng = random.Random(seed)
    texts = real_texts()
    source = f"{len(texts)} real posts and articles"
    if not texts:
        texts, source = synthetic_texts(rng), "synthetic sentences (../shared/data absent)"
    db = await open_backend(target)
    try:
        framings, added = FramingRepository(db), 0
        for text in pick_terms(texts, rng, TERMS + 50):
            try:
                term = check_new_term(text)
            except FramingError:
                continue
            slug = f"framing-{added % FRAMINGS:02d}"
            added += (await framings.add_term(slug, term.text, term.key, None, NOW)).term_added
            if added == TERMS:
                break
        async with db.atomic() as tx:
            await tx.executemany(
                "INSERT INTO channels (chat_id, username, title, is_member, added_at, updated_at)"
                " VALUES (?, ?, ?, 0, ?, ?)",
                [
                    (-1_001_000_000_000 - c, f"channel{c:02d}", f"Channel {c}", NOW.isoformat(), "")
                    for c in range(CHANNELS)
                ],
            )
        rows = post_rows(texts, posts, rng)
        while chunk := [row for _, row in zip(range(CHUNK), rows, strict=False)]:
            async with db.atomic() as tx:
                await tx.executemany(
                    "INSERT INTO posts (chat_id, message_id, posted_at, text, source, stored_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    chunk,
                )
    finally:
        await db.close()
    return source


async def pg_run(url: str, sql: str) -> None:
    """One statement on its own connection (CREATE DATABASE and VACUUM take no transaction)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run(posts: int, processes: list[int], seed: int, repeat: int) -> None:
    from tests.pg_server import create_database, start_server, stop_server

    folder = Path(tempfile.mkdtemp(prefix="fw-scan-workers-"))
    server = start_server()
    try:
        pid = int((server.folder / "data" / "postmaster.pid").read_text().split()[0])
        asyncio.run(create_database(server.url(), "template_scan"))
        source = asyncio.run(populate(server.url("template_scan"), posts, seed))
        asyncio.run(pg_run(server.url("template_scan"), "VACUUM ANALYZE"))
        lite = folder / "template.db"
        asyncio.run(populate(str(lite), posts, seed))
        print(f"{posts} posts ({source}), {TERMS} terms, {os.cpu_count()} cores,")
        print(f"load average before: {os.getloadavg()[0]:.1f}; PostgreSQL on this machine")
        figures: dict[int, list[Figures]] = {}
        for round_ in range(repeat):  # rounds, not runs in a row: the machine's load drifts
            copy = folder / f"run{round_}.db"
            shutil.copy(lite, copy)
            print(measure(str(copy), 1, plain=True).line("SQLite, run_scan, 1 process"))
            # 0: PostgreSQL's run_scan in one process; -2: two, every write under one lock
            for count in [0, *processes, -2]:
                name = f"run_{round_}_{count + 2}"
                asyncio.run(
                    pg_run(server.url(), f'CREATE DATABASE "{name}" TEMPLATE template_scan')
                )
                done = measure(
                    server.url(name),
                    abs(count) or 1,
                    plain=not count,
                    server_pid=pid,
                    one_lock=count < 0,
                )
                print(done.line(TITLES.get(count, f"PostgreSQL, claimed, {count} processes")))
                figures.setdefault(count, []).append(done)
        best = {n: min(f.wall for f in runs) for n, runs in figures.items()}
        if 1 in best and 2 in best:
            print(
                f"best walls: 2 processes vs 1: {best[1] / best[2]:.2f}x (goal 1.4x);"
                f" vs run_scan in one process: {best[0] / best[2]:.2f}x;"
                f" 2 under one exclusive lock vs 1: {best[1] / best[-2]:.2f}x"
            )
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        stop_server(server)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=2, help="rounds of every run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--one-lock", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(args.worker, args.plain, args.one_lock))
    else:
        run(args.posts, args.processes, args.seed, args.repeat)


if __name__ == "__main__":
    main()
