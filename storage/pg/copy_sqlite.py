"""The SQLite side of `framewatch copy-db`: a file read from one snapshot, or written in
one transaction. Table and column names come from storage.pg.copy_tables and the schema,
never from input, so they are put into the SQL as quoted identifiers."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from storage.db import Database, open_database
from storage.pg.copy import CopyRefused, Row
from storage.pg.copy_tables import CHUNK_ROWS, NOT_COPIED, SQLITE_ROWID_COLUMNS

_FTS_SHADOW = ("_config", "_content", "_data", "_docsize", "_idx")


def _column_sql(table: str, column: str) -> str:
    return "rowid" if SQLITE_ROWID_COLUMNS.get(table) == column else f'"{column}"'


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    names = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
    key = SQLITE_ROWID_COLUMNS.get(table)
    return [key, *names] if key else names


class SqliteSource:
    """Reads a SQLite file; its schema is brought up to date first, as the bot would."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.label = f"sqlite:{path}"
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        if not await asyncio.to_thread(Path(self.path).is_file):
            raise CopyRefused(f"there is no database at {self.path}: check the path")
        db = await open_database(self.path, read_only=True)
        await db.close()
        conn = await asyncio.to_thread(
            sqlite3.connect, self.path, isolation_level=None, check_same_thread=False
        )
        conn.execute("BEGIN")  # one snapshot: the bot may go on writing meanwhile (WAL)
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            await asyncio.to_thread(self._conn.close)
            self._conn = None

    def _raw(self) -> sqlite3.Connection:
        assert self._conn is not None, "open() first"
        return self._conn

    async def columns(self, table: str) -> list[str]:
        return await asyncio.to_thread(_columns, self._raw(), table)

    async def count(self, table: str) -> int:
        sql = f'SELECT count(*) FROM "{table}"'  # noqa: S608 (a table of copy_tables)
        row = await asyncio.to_thread(lambda: self._raw().execute(sql).fetchone())
        return int(row[0])

    async def chunks(self, table: str, columns: Sequence[str]) -> AsyncIterator[list[Row]]:
        listed = ", ".join(_column_sql(table, c) for c in columns)
        sql = f'SELECT {listed} FROM "{table}"'  # noqa: S608 (names from the schema)
        cursor = await asyncio.to_thread(self._raw().execute, sql)
        try:
            while rows := await asyncio.to_thread(cursor.fetchmany, CHUNK_ROWS):
                yield rows
        finally:
            cursor.close()


def _tables_with_rows(path: str) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        listed = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        names = [n for (n,) in listed]
        shadow = {v + s for v in names for s in _FTS_SHADOW}
        return [
            name
            for name in names
            if name not in NOT_COPIED and name not in shadow
            and conn.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone()  # noqa: S608
        ]  # fmt: skip
    finally:
        conn.close()


def _target_tables_with_rows(path: str) -> list[str]:
    target = Path(path)
    if target.exists():
        return _tables_with_rows(path)
    if not target.parent.is_dir():
        raise CopyRefused(f"cannot create {path}: folder {target.parent} does not exist")
    return []


class _SqliteWriter:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def clear(self, table: str) -> None:
        await self._conn.execute(f'DELETE FROM "{table}"')  # noqa: S608 (copy_tables)

    async def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        listed = ", ".join(_column_sql(table, c) for c in columns)
        marks = ", ".join("?" * len(columns))
        sql = f'INSERT INTO "{table}" ({listed}) VALUES ({marks})'  # noqa: S608
        await self._conn.executemany(sql, rows)

    async def finish(self) -> None:
        """Nothing to move: a rowid is max(rowid) + 1, and AUTOINCREMENT's counter
        (sqlite_sequence) follows explicit ids by itself."""


class SqliteTarget:
    """Writes a SQLite file: created (with its schema) if missing, refused if not empty."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.label = f"sqlite:{path}"
        self._db: Database | None = None

    async def tables_with_rows(self) -> list[str]:
        return await asyncio.to_thread(_target_tables_with_rows, self.path)

    async def prepare(self) -> None:
        self._db = await open_database(self.path)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    def _database(self) -> Database:
        assert self._db is not None, "prepare() first"
        return self._db

    async def columns(self, table: str) -> list[str]:
        return await self._database().run_read(lambda conn: _columns(conn, table))

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[_SqliteWriter]:
        async with self._database().transaction() as conn:
            yield _SqliteWriter(conn)
