"""The PostgreSQL side of `framewatch copy-db`: a database read from one snapshot
(REPEATABLE READ), or written in one transaction with COPY (copy_records_to_table).
Table and column names come from storage.pg.copy_tables and the schema, never from input."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg
from asyncpg.transaction import Transaction

from storage.pg.connect import connect, masked_url
from storage.pg.copy import CopyError, CopyRefused, Row
from storage.pg.copy_tables import CHUNK_ROWS, NOT_COPIED
from storage.pg.migrate import migrate

_COLUMNS = (
    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
    " AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position"
)


async def _columns(conn: asyncpg.Connection, table: str) -> list[str]:
    return [row[0] for row in await conn.fetch(_COLUMNS, table)]


class _PgEndpoint:
    def __init__(self, url: str) -> None:
        self.url = url
        self.label = masked_url(url)
        self._conn: asyncpg.Connection | None = None

    async def open(self) -> None:
        self._conn = await connect(self.url)

    def _raw(self) -> asyncpg.Connection:
        assert self._conn is not None, "open() first"
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def columns(self, table: str) -> list[str]:
        return await _columns(self._raw(), table)


class PgSource(_PgEndpoint):
    _snapshot: Transaction | None = None

    async def open(self) -> None:
        await super().open()
        conn = self._raw()
        if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
            await self.close()
            raise CopyRefused(f"{self.label} holds no FrameWatch database (no schema_migrations)")
        await migrate(conn)
        self._snapshot = conn.transaction(isolation="repeatable_read", readonly=True)
        await self._snapshot.start()

    async def close(self) -> None:
        if self._snapshot is not None:
            await self._snapshot.rollback()
            self._snapshot = None
        await super().close()

    async def count(self, table: str) -> int:
        return int(await self._raw().fetchval(f'SELECT count(*) FROM "{table}"'))  # noqa: S608

    async def chunks(self, table: str, columns: Sequence[str]) -> AsyncIterator[list[Row]]:
        listed = ", ".join(f'"{c}"' for c in columns)
        cursor = await self._raw().cursor(f'SELECT {listed} FROM "{table}"')  # noqa: S608
        while records := await cursor.fetch(CHUNK_ROWS):
            yield [tuple(record) for record in records]


# A copied table's secondary indexes and foreign keys are set aside while it fills and put
# back at the end, in the same transaction: building an index once and checking a foreign
# key with one join is several times faster than keeping them up to date row by row.
_SECONDARY_INDEXES = (
    "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
    " WHERE indrelid = to_regclass($1) AND NOT indisprimary AND NOT indisunique"
)
_FOREIGN_KEYS = (
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE conrelid = to_regclass($1) AND contype = 'f'"
)


class _PgWriter:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._seen: set[str] = set()
        self._put_back: list[str] = []  # statements that restore what was set aside

    async def clear(self, table: str) -> None:
        await self._conn.execute(f'DELETE FROM "{table}"')  # noqa: S608 (copy_tables)

    async def _set_aside(self, table: str) -> None:
        self._seen.add(table)
        indexes = await self._conn.fetch(_SECONDARY_INDEXES, f'"{table}"')
        keys = await self._conn.fetch(_FOREIGN_KEYS, f'"{table}"')
        try:
            async with self._conn.transaction():  # a savepoint: a refusal undoes only this
                for name, _ in indexes:
                    await self._conn.execute(f"DROP INDEX {name}")
                for name, _ in keys:
                    await self._conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        except asyncpg.InsufficientPrivilegeError:
            return  # not the tables' owner: they stay, and the copy is slower
        self._put_back += [definition for _, definition in indexes]
        self._put_back += [
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
            for name, definition in keys
        ]

    async def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        if table not in self._seen:
            await self._set_aside(table)
        try:
            await self._conn.copy_records_to_table(table, records=rows, columns=list(columns))
        except (asyncpg.DataError, ValueError, TypeError, OverflowError) as exc:
            raise CopyError(f"table {table}: a value PostgreSQL cannot store ({exc})") from None

    async def finish(self) -> None:
        """Put back the indexes and foreign keys set aside (checking every copied row), and
        move every identity sequence past the copied ids, so new rows do not collide; then
        gather the planner's statistics."""
        for statement in self._put_back:
            try:
                await self._conn.execute(statement)
            except asyncpg.ForeignKeyViolationError as exc:
                raise CopyError(f"a copied row points at a missing row ({exc.detail})") from None
        identities = await self._conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'"
        )
        for table, column in identities:
            first_free = f'SELECT coalesce(max("{column}"), 0) + 1 FROM "{table}"'  # noqa: S608
            await self._conn.execute(
                f"SELECT setval(pg_get_serial_sequence($1, $2), ({first_free}), false)",
                f'"{table}"',
                column,
            )
        # Planner statistics now, not at autovacuum's leisure: without them a freshly copied
        # database plans trends' counts several times slower (bench/reviews_backends.py).
        await self._conn.execute("ANALYZE")


class PgTarget(_PgEndpoint):
    async def tables_with_rows(self) -> list[str]:
        if self._conn is None:
            await self.open()
        conn = self._raw()
        names = [
            row[0]
            for row in await conn.fetch(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
                " ORDER BY table_name"
            )
        ]
        return [
            name
            for name in names
            if name not in NOT_COPIED
            and await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{name}")')  # noqa: S608
        ]

    async def prepare(self) -> None:
        await migrate(self._raw())

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[_PgWriter]:
        async with self._raw().transaction():
            yield _PgWriter(self._raw())
