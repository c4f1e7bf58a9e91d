"""The database interface the ported repositories use, whichever database is behind it.

Two implementations: storage.db.Database (SQLite through aiosqlite, one connection) and
storage.pg.database.PgDatabase (PostgreSQL through an asyncpg pool); storage.db.open_backend
opens either from a path or URL. Repositories write `?` placeholders and the SQL both
databases understand; what differs is in storage.dialect, reached as `db.dialect`.

Rows are read by index or by column name (sqlite3.Row and asyncpg.Record both do).
Writes go through `async with db.atomic() as tx:` - one transaction, committed at the end of
the block, rolled back if it raises; `tx` has async execute/executemany/fetch* of its own.
Bulk writes stay bulk: executemany, or one statement over `dialect.int_rows`, per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from storage.dialect import Dialect


class Row(Protocol):
    """sqlite3.Row or asyncpg.Record: by index, by column name, or unpacked."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class Tx(Protocol):
    """The connection a transaction block gets. Every statement takes `?` placeholders."""

    @property
    def dialect(self) -> Dialect: ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it inserted, updated or deleted."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement for each row of parameters, in one round trip."""
        ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]: ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, None if there is no row."""
        ...


class Reader(Protocol):
    """What reads need: the dialect and the fetch calls (a Backend, or a planned_reads())."""

    @property
    def dialect(self) -> Dialect: ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]: ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any: ...


class Backend(Protocol):
    """A database: reads outside a transaction, and atomic() for everything that writes."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def path(self) -> str:
        """The SQLite file, or the PostgreSQL URL with its password masked."""
        ...

    def atomic(self, *, shared: bool = False) -> AbstractAsyncContextManager[Tx]:
        """One write transaction. Write transactions run one at a time, except shared ones
        (PostgreSQL): transactions that write only work rows their caller claimed and what
        hangs on those rows (storage/scan_claims.py: a scan batch's marks and matches) run
        side by side, never beside an ordinary one (a rule change, an edit)."""
        ...

    def planned_reads(self) -> AbstractAsyncContextManager[Reader]:
        """Reads whose best plan depends on the values given (text searches: a rare word
        and a common one want opposite plans). PostgreSQL: one read-only transaction whose
        statements are planned with their values each time, never by a cached generic plan.
        SQLite plans every statement with its values anyway: the database itself."""
        ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]: ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    async def fetch_tuples(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows as plain tuples: for many rows read at once (no Row object per row)."""
        ...

    async def close(self) -> None: ...
