"""Copy a whole FrameWatch database between SQLite and PostgreSQL (`framewatch copy-db`).

The engine is backend-neutral: a Source reads each table in chunks from one consistent
snapshot, a Target refuses to be written unless every table is empty, then writes all
tables inside ONE transaction (a failure leaves it as empty as it was) and moves its id
sequences past the copied ids. Ids, versions and every other value are kept as they are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from storage.pg.copy_tables import COPIED, TRIGGER_FED

Row = tuple[Any, ...]
# (table, rows done, rows in all): bot.progress.StageBars has this signature.
Progress = Callable[[str, int, int | None], None]


class CopyError(Exception):
    """The copy cannot start or failed; the message says why (nothing was kept)."""


class CopyRefused(CopyError):
    """The copy cannot start (a target holding data, a missing file, another schema):
    raised before anything is written."""


class Source(Protocol):
    label: str

    async def open(self) -> None: ...
    async def columns(self, table: str) -> list[str]: ...
    async def count(self, table: str) -> int: ...
    def chunks(self, table: str, columns: Sequence[str]) -> AsyncIterator[list[Row]]: ...


class Writer(Protocol):
    async def clear(self, table: str) -> None: ...
    async def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None: ...
    async def finish(self) -> None: ...


class Target(Protocol):
    label: str

    async def tables_with_rows(self) -> list[str]: ...
    async def prepare(self) -> None: ...
    async def columns(self, table: str) -> list[str]: ...
    def writing(self) -> AbstractAsyncContextManager[Writer]: ...


async def copy_database(
    source: Source, target: Target, progress: Progress | None = None
) -> dict[str, int]:
    """Copy every table of COPIED; return the rows copied per table. The target is looked
    at first, so a wrong or full target is refused before the source is opened."""
    full = await target.tables_with_rows()
    if full:
        shown = ", ".join(full[:5]) + (" ..." if len(full) > 5 else "")
        raise CopyRefused(
            f"{target.label} is not empty ({shown} hold rows): copy into a new, empty "
            "database; nothing was written"
        )
    await source.open()
    await target.prepare()
    plan = []
    for table in COPIED:
        columns = await source.columns(table)
        theirs = await target.columns(table)
        if sorted(columns) != sorted(theirs):
            raise CopyRefused(
                f"table {table} differs between {source.label} ({', '.join(columns)}) and "
                f"{target.label} ({', '.join(theirs)}): is one of them from another version "
                "of FrameWatch?"
            )
        plan.append((table, columns, await source.count(table)))
    copied: dict[str, int] = {}
    async with target.writing() as writer:
        for table, columns, total in plan:
            if table in TRIGGER_FED:
                await writer.clear(table)
            done = 0
            async for rows in source.chunks(table, columns):
                await writer.write(table, columns, rows)
                done += len(rows)
                if progress is not None:
                    progress(table, done, max(total, done))
            copied[table] = done
        await writer.finish()
    return copied
