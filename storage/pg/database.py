"""storage.backend.Backend on PostgreSQL: an asyncpg pool, `?` placeholders rewritten once
per SQL text (storage.dialect), and transactions that write one at a time.

Write transactions take one transaction-level advisory lock first, so they run one after
another as SQLite's BEGIN IMMEDIATE makes them: the repositories' read-then-write steps
(the next rules version, the term limit, "did this change anything") keep the meaning they
have on SQLite. Reads outside atomic() take no lock and see the last committed state.
The scan's claims and stores (storage/scan_claims.py) take the lock in shared mode: several
processes' batches are written side by side, each on rows that process claimed, while a rule
change or an edit still waits for them (and they for it), so the rules version a store checks
stays the one it commits under.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from storage.dialect import POSTGRESQL, Dialect, pg_rowcount
from storage.pg.connect import CONNECT_TIMEOUT, PgConnectError, connect, masked_url
from storage.pg.migrate import migrate

# pg_advisory_xact_lock key of every write transaction (the migrations use another).
WRITE_LOCK = 0x4657_5752_4954  # "FWWRIT"
POOL_SIZE = 8
# asyncpg prepares every statement and reuses it; after five runs PostgreSQL may switch to a
# generic plan, chosen without the parameters' values. For a text search that plan walks the
# primary key backwards filtering every row (right for a common word, a whole-table read for
# a rare one): /search p95 went from 27 ms to 163 ms at 100,000 posts. So searches run in
# planned_reads(), planned with their values each time. Not the whole pool: that re-planned
# every statement of the triggers' PL/pgSQL on every row too, and a scan's server CPU more
# than doubled (bench/scan_workers.py, 20,000 posts: 3.6 against 1.5 CPU-s).
CUSTOM_PLANS = "SET LOCAL plan_cache_mode = force_custom_plan"
# Parallel workers: starting them took 15-40 ms on a 2-core machine, for a search whose work
# was 1 ms (PostgreSQL goes parallel above a cost of 1,000, the default setup cost): only
# statements estimated well above that (trends, exports) go parallel.
SERVER_SETTINGS = {"parallel_setup_cost": "20000"}


class PgTx:
    """storage.backend.Tx on one pooled connection inside its transaction."""

    def __init__(self, conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record]) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        return POSTGRESQL

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return pg_rowcount(await self._conn.execute(POSTGRESQL.sql(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(POSTGRESQL.sql(sql), rows)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        return await self._conn.fetch(POSTGRESQL.sql(sql), *params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> asyncpg.Record | None:
        return await self._conn.fetchrow(POSTGRESQL.sql(sql), *params)

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._conn.fetchval(POSTGRESQL.sql(sql), *params)


class PgDatabase:
    """storage.backend.Backend on an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], url: str) -> None:
        self._pool = pool
        self.path = masked_url(url)

    @property
    def dialect(self) -> Dialect:
        return POSTGRESQL

    @asynccontextmanager
    async def atomic(self, *, shared: bool = False) -> AsyncIterator[PgTx]:
        """shared: the write lock in shared mode, for transactions that write only rows their
        caller claimed (storage/scan_claims.py): they run side by side, while each ordinary
        write transaction still runs alone (it waits for them, and they for it)."""
        lock = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(f"SELECT {lock}($1)", WRITE_LOCK)
            yield PgTx(conn)

    @asynccontextmanager
    async def planned_reads(self) -> AsyncIterator[PgTx]:
        """storage.backend.Backend.planned_reads: a read-only transaction planning each
        statement with its values (no write lock: it writes nothing)."""
        async with self._pool.acquire() as conn, conn.transaction(readonly=True):
            await conn.execute(CUSTOM_PLANS)
            yield PgTx(conn)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        return await self._pool.fetch(POSTGRESQL.sql(sql), *params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> asyncpg.Record | None:
        return await self._pool.fetchrow(POSTGRESQL.sql(sql), *params)

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._pool.fetchval(POSTGRESQL.sql(sql), *params)

    async def fetch_tuples(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self.fetchall(sql, params)]

    async def close(self) -> None:
        await self._pool.close()


async def open_pg_database(url: str, *, pool_size: int = POOL_SIZE) -> PgDatabase:
    """The database at url, migrated (storage/pg/migrations), behind a pool of connections;
    PgConnectError (one line, password masked) if it cannot be reached."""
    first = await connect(url)  # the clear errors; and the migration runs on it
    try:
        await migrate(first)
    finally:
        await first.close()
    try:
        pool = await asyncpg.create_pool(
            url,
            min_size=1,
            max_size=pool_size,
            timeout=CONNECT_TIMEOUT,
            server_settings=SERVER_SETTINGS,
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise PgConnectError(f"{masked_url(url)}: cannot open a pool ({exc})") from None
    return PgDatabase(pool, url)
