"""The SQLite connection: PRAGMAs, migrations, and serialised transactions.

Database is the SQLite implementation of storage.backend.Backend (atomic(), fetch*); the
PostgreSQL one is storage.pg.database.PgDatabase, and open_backend opens either.
transaction(), run_in_transaction() and run_read() are SQLite's own: the repositories not yet
ported to the backend interface still use them (see README, PostgreSQL (in progress)).

One aiosqlite connection is shared by handlers and jobs. aiosqlite runs every call on
one thread, but two coroutines could still interleave statements of two transactions,
so all access goes through an asyncio.Lock: `transaction()` for writes, `fetch*` for
reads. The lock is not re-entrant: never call a fetch inside a transaction block; use
the connection the block yields.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.backend import Backend
from storage.dialect import SQLITE, Dialect
from storage.migration_files import sql_files

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path

    @property
    def dialect(self) -> Dialect:
        return SQLITE

    @asynccontextmanager
    async def atomic(self, *, shared: bool = False) -> AsyncIterator[SqliteTx]:
        """The backend interface's transaction: BEGIN IMMEDIATE ... COMMIT (or ROLLBACK).
        shared changes nothing here: SQLite has one writer at a time."""
        async with self.transaction() as conn:
            yield SqliteTx(conn)

    @asynccontextmanager
    async def planned_reads(self) -> AsyncIterator[Database]:
        """storage.backend.Backend.planned_reads: SQLite plans each run with its values."""
        yield self

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK if the block raises."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.rollback()
                raise
            await self._conn.commit()

    async def run_in_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """work(raw sqlite3 connection) inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK if it
        raises), run whole on aiosqlite's thread: one round trip for a bulk write, however
        many statements it runs. work must not touch the event loop."""
        async with self._lock:
            return await self._on_db_thread(_in_transaction, work)

    async def run_read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """work(raw sqlite3 connection) for several reads in one round trip (no transaction)."""
        async with self._lock:
            return await self._on_db_thread(work)

    async def _on_db_thread(self, fn: Callable[..., T], *args: Any) -> T:
        # aiosqlite has no public "run this callable on the connection's thread"; _execute
        # is the method every one of its calls goes through, and _conn the sqlite3 connection.
        raw: sqlite3.Connection = self._conn._conn
        result: T = await self._conn._execute(fn, raw, *args)  # type: ignore[no-untyped-call]
        return result

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._lock, self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        async with self._lock, self._conn.execute(sql, params) as cursor:
            row: sqlite3.Row | None = await cursor.fetchone()
            return row

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def fetch_tuples(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        def read(raw: sqlite3.Connection) -> list[tuple[Any, ...]]:
            cursor = raw.execute(sql, params)
            cursor.row_factory = None  # plain tuples: no Row object per row
            return list(cursor)

        return await self.run_read(read)

    async def close(self) -> None:
        await self._conn.close()


class SqliteTx:
    """storage.backend.Tx on the aiosqlite connection of a transaction() block."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        return SQLITE

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._conn.execute(sql, params) as cursor:
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        async with self._conn.execute(sql, params) as cursor:
            row: sqlite3.Row | None = await cursor.fetchone()
            return row

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


def _in_transaction(raw: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    raw.execute("BEGIN IMMEDIATE")
    try:
        result = work(raw)
    except BaseException:
        raw.rollback()
        raise
    raw.commit()
    return result


async def open_database(path: str | Path, *, read_only: bool = False) -> Database:
    """Open the SQLite file (creating it if its folder exists) and bring its schema up to
    date. Unless read_only, check now that it can be written: a bot that finds out at its
    first write would run on without storing anything.

    Any sqlite3.Error closes the connection before it propagates: its worker thread would
    otherwise keep the process alive. storage.errors says what the error means.
    """
    path = str(path)
    pending = aiosqlite.connect(path, isolation_level=None)
    try:
        conn = await pending
    except BaseException:
        # aiosqlite stops its worker thread after a failed open without waiting for it;
        # wait here, or the thread reports to an event loop that asyncio.run has closed.
        await asyncio.to_thread(pending._thread.join, 10)
        raise
    try:
        conn.row_factory = sqlite3.Row
        for pragma in (
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",  # with WAL: durable at every checkpoint, crash-safe
            "PRAGMA foreign_keys = ON",
            "PRAGMA busy_timeout = 5000",
            # 64 MiB of page cache (the default is 2 MiB): the near-duplicate index's band
            # keys land on random B-tree pages, which then stay in memory between batches.
            # Allocated as pages are read, so a small database costs no more.
            "PRAGMA cache_size = -65536",
        ):
            await conn.execute(pragma)
        db = Database(conn, path)
        await migrate(db)
        if not read_only:
            await _check_writable(db)
    except BaseException:
        await conn.close()
        raise
    return db


async def open_backend(url_or_path: str | Path) -> Backend:
    """The database at a PostgreSQL URL (postgresql://..., postgres://...) or a SQLite
    path (a plain path or sqlite:PATH), opened and migrated.

    Only the repositories listed in README's PostgreSQL (in progress) run on both; the bot
    itself still opens SQLite (open_database)."""
    text = str(url_or_path)
    if text.startswith(("postgresql://", "postgres://")):
        from storage.pg.database import open_pg_database  # asyncpg only when asked for

        return await open_pg_database(text)
    return await open_database(text.removeprefix("sqlite:"))


def open_reader(path: str) -> sqlite3.Connection:
    """A plain read-only connection to the file, for a worker process that only reads
    (bot/scan_pool.py); the schema is the main process's business."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


async def _check_writable(db: Database) -> None:
    """SQLITE_READONLY now if the file cannot be written. A write of the value it already
    has, rolled back: no change, but SQLite must be able to lock and write the file."""
    async with db._lock:
        await db._conn.execute("BEGIN IMMEDIATE")
        try:
            async with db._conn.execute("PRAGMA user_version") as cursor:
                row = await cursor.fetchone()
            await db._conn.execute(f"PRAGMA user_version = {int(row[0]) if row else 0}")
        finally:
            await db._conn.rollback()


def _migration_files() -> list[tuple[int, str, str]]:
    return sql_files("migrations")


async def migrate(db: Database, files: Iterable[tuple[int, str, str]] | None = None) -> list[str]:
    """Apply the migrations not yet recorded, each in its own transaction, in order."""
    async with db.transaction() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    applied = {row[0] for row in await db.fetchall("SELECT version FROM schema_migrations")}
    done = []
    for version, name, sql in files if files is not None else _migration_files():
        if version in applied:
            continue
        async with db.transaction() as conn:
            for statement in _split_statements(sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, datetime.now(UTC).isoformat()),
            )
        log.info("applied migration %s", name)
        done.append(name)
    return done


def _split_statements(sql: str) -> list[str]:
    """Split a migration into statements; triggers contain ';' so use sqlite's own test."""
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        if line.strip().startswith("--") and not current.strip():
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements
