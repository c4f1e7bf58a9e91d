"""bench/scale.py's PostgreSQL side: the throwaway server (tests/pg_server.py), CPU seconds
of this process, its children and the server's processes, the reference pipeline reading
PostgreSQL, and the hook for the scan with several worker processes (bench/scan_workers.py).
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.pg_server import PgServer, create_database, start_server, stop_server

TICKS = os.sysconf("SC_CLK_TCK")


def is_pg(target: str) -> bool:
    """A PostgreSQL URL (else a SQLite path)."""
    return target.startswith("postgresql://")


def proc_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds of a process from /proc (user + system; with children: also those of
    its children it has waited for, i.e. ended backends)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # ended meanwhile
        return 0.0
    # after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Server:
    """A throwaway PostgreSQL for the bench, and the CPU its processes used so far."""

    pg: PgServer

    @property
    def postmaster(self) -> int:
        return int((self.pg.folder / "data" / "postmaster.pid").read_text().split()[0])

    def cpu(self) -> float:
        """The postmaster, its ended children (reaped: in its cutime) and its live ones
        (backends, checkpointer, WAL writer, autovacuum)."""
        root = self.postmaster
        total = proc_cpu(root, children=True)
        for entry in os.listdir("/proc"):
            if entry.isdigit() and parent_of(int(entry)) == root:
                total += proc_cpu(int(entry))
        return total

    def url(self, database: str) -> str:
        return self.pg.url(database)


def start() -> Server:
    return Server(start_server())


def stop(server: Server) -> None:
    stop_server(server.pg)


def new_database(server: Server, name: str) -> str:
    asyncio.run(create_database(server.pg.url(), name))
    return server.url(name)


class Clock:
    """CPU seconds since the last lap: this process, its waited-for children (the
    `framewatch` commands) and the database server."""

    def __init__(self, server: Server | None) -> None:
        self.server = server
        self.last = self.now()

    def now(self) -> tuple[float, float, float]:
        own = time.process_time()
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        server = self.server.cpu() if self.server else 0.0
        return own, kids.ru_utime + kids.ru_stime, server

    def lap(self) -> dict[str, float]:
        now = self.now()
        own, kids, server = (a - b for a, b in zip(now, self.last, strict=True))
        self.last = now
        return {"client": own + kids, "server": server}


def reference_scan_pg(url: str, phrases: list[str]) -> dict[str, Any]:
    """bench/scale.py's reference pipeline reading PostgreSQL: texts by a cursor, one
    Aho-Corasick automaton, hits written with COPY into a temporary table."""
    import ahocorasick
    import asyncpg

    async def scan() -> dict[str, Any]:
        start = time.perf_counter()
        automaton = ahocorasick.Automaton()
        for i, phrase in enumerate(phrases):
            automaton.add_word(phrase, (i, len(phrase)))
        automaton.make_automaton()
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "CREATE TEMP TABLE ref_hits (post_id BIGINT, term INT, start_pos INT,"
                " PRIMARY KEY (post_id, term))"
            )
            posts = 0
            async with conn.transaction():
                cursor = await conn.cursor("SELECT id, text FROM posts")
                while rows := await cursor.fetch(5000):
                    hits = {}
                    for post_id, text in rows:
                        for end, (term, length) in automaton.iter(text.casefold()):
                            hits.setdefault((post_id, term), end - length + 1)
                    posts += len(rows)
                    await conn.copy_records_to_table(
                        "ref_hits", records=[(p, t, s) for (p, t), s in hits.items()]
                    )
            found = await conn.fetchval("SELECT count(DISTINCT post_id) FROM ref_hits")
        finally:
            await conn.close()
        return {"seconds": time.perf_counter() - start, "posts": posts, "flagged": found}

    return asyncio.run(scan())


def count_pg(url: str, sql: str) -> int:
    import asyncpg

    async def one() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval(sql))
        finally:
            await conn.close()

    return asyncio.run(one())


def scan_workers_on_pg(server: Server, export: Path, posts: int) -> None:
    """The scan with 1, 2 and 3 processes of claimed scan steps on PostgreSQL, as
    `framewatch worker` runs them (issue 12 part 3; goal: 2 at least 1.4x one), with the
    plain one-process scan on SQLite and PostgreSQL beside them: bench/scan_workers.py on a
    backlog of the same size (its own texts and terms, its own throwaway server), one round."""
    del server, export  # scan_workers builds its backlog in a template it copies per run
    from bench.scan_workers import run as scan_workers

    scan_workers(posts, [1, 2, 3], seed=7, repeat=1)
