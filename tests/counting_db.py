"""A real Database that counts its round trips to the database thread (no mock: every
call goes through to SQLite)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.db import Database, Params, SqliteTx, open_database

T = TypeVar("T")


class CountedConnection:
    """The aiosqlite connection a transaction() block gets, counting each statement it
    sends: every one is a round trip to the database thread."""

    def __init__(self, conn: aiosqlite.Connection, calls: Counter[str]) -> None:
        self._conn, self._calls = conn, calls

    def __getattr__(self, name: str) -> object:
        if name in ("execute", "executemany", "execute_fetchall", "execute_insert"):
            self._calls["statement in a transaction"] += 1
        return getattr(self._conn, name)


class CountedTx(SqliteTx):
    """The SqliteTx an atomic() block gets, counting each statement it sends."""

    def __init__(self, conn: aiosqlite.Connection, calls: Counter[str]) -> None:
        super().__init__(conn)
        self._calls = calls

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._calls["statement in atomic"] += 1
        return await super().execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._calls["statement in atomic"] += 1
        await super().executemany(sql, rows)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        self._calls["statement in atomic"] += 1
        return await super().fetchall(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        self._calls["statement in atomic"] += 1
        return await super().fetchone(sql, params)


class CountingDatabase(Database):
    """The real Database, counting its round trips to the database thread: one per call
    of these methods, and for transaction() one per statement too."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        super().__init__(conn, path)
        self.calls: Counter[str] = Counter()

    @asynccontextmanager
    async def atomic(self, *, shared: bool = False) -> AsyncIterator[SqliteTx]:
        """The backend interface's transaction: one call, and one per statement in it."""
        self.calls["atomic"] += 1
        async with Database.transaction(self) as conn:  # not counted twice
            yield CountedTx(conn, self.calls)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        self.calls["transaction"] += 1
        async with super().transaction() as conn:
            yield CountedConnection(conn, self.calls)  # type: ignore[misc]

    async def run_in_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        self.calls["run_in_transaction"] += 1
        return await super().run_in_transaction(work)

    async def run_read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        self.calls["run_read"] += 1
        return await super().run_read(work)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        self.calls["fetchall"] += 1
        return await super().fetchall(sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        self.calls["fetchone"] += 1
        return await super().fetchone(sql, params)

    @classmethod
    async def open(cls, path: Path) -> CountingDatabase:
        """A connection to `path` (migrated first), with open_database's PRAGMAs that matter."""
        await (await open_database(path)).close()
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        for pragma in ("PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 5000"):
            await conn.execute(pragma)
        return cls(conn, str(path))
