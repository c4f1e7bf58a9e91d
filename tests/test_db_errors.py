"""storage/errors.py: the same database failure on SQLite and on PostgreSQL is the same
Failure, by its code (never the message), and a user is told the same line about it: the
handlers' reply (handlers/errors.py) and the CLI's line (storage.errors.describe) but for
the database's name and code. Real failures from a real SQLite file and the throwaway
PostgreSQL of tests/pg_server.py."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from handlers.errors import SOMETHING_WENT_WRONG, error_reply
from storage.backend import Backend
from storage.db import open_backend
from storage.errors import Failure, classify, code_name, describe
from storage.models import InboxUpdate
from storage.pg.database import WRITE_LOCK
from tests.backends import sqlite_only_because
from tests.conftest import STRANGER, Harness
from tests.fake_telegram import private_message

NOW = "2026-01-01T00:00:00+00:00"
NOW_TIME = datetime(2026, 1, 1, tzinfo=UTC)
INSERT_INBOX = "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)"

ACTIVE_SLEEP = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND wait_event = 'PgSleep'"
)
Provoke = Callable[[Any, str], Awaitable[Any]]


@pytest.fixture
async def both(tmp_path: Path, pg_url: str) -> AsyncIterator[dict[str, tuple[Backend, str]]]:
    """Each backend's database, migrated, with where it lives."""
    lite_path = str(tmp_path / "fw.db")
    lite, pg = await open_backend(lite_path), await open_backend(pg_url)
    try:
        yield {"sqlite": (lite, lite_path), "postgresql": (pg, pg_url)}
    finally:
        await lite.close()
        await pg.close()


async def failure_of(provoke: Provoke, db: Backend | None, where: str) -> BaseException:
    try:
        await provoke(db, where)
    except Exception as exc:
        return exc
    raise AssertionError(f"{provoke.__name__} did not fail")


async def insert_twice(db: Backend, _where: str) -> None:
    async with db.atomic() as tx:
        await tx.execute(INSERT_INBOX, (1, "{}", NOW))
    async with db.atomic() as tx:
        await tx.execute(INSERT_INBOX, (1, "{}", NOW))  # no ON CONFLICT: the key exists


async def post_of_a_missing_channel(db: Backend, _where: str) -> None:
    async with db.atomic() as tx:
        await tx.execute(
            "INSERT INTO posts (chat_id, message_id, posted_at) VALUES (?, ?, ?)", (-42, 1, 0)
        )


async def update_without_payload(db: Backend, _where: str) -> None:
    async with db.atomic() as tx:
        await tx.execute(INSERT_INBOX, (2, None, NOW))


async def write_while_another_writer_holds_the_lock(db: Backend, where: str) -> None:
    """Neither waits: SQLite with busy_timeout 0, PostgreSQL with lock_timeout 1 ms."""
    if db.dialect.is_sqlite:
        holder = sqlite3.connect(where, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            await db.fetchval("PRAGMA busy_timeout = 0")
            async with db.atomic() as tx:
                await tx.execute(INSERT_INBOX, (3, "{}", NOW))
        finally:
            holder.close()
        return
    holder = await asyncpg.connect(where)
    try:  # the pool's sessions start with the database's lock_timeout (a pool resets SETs)
        name = await holder.fetchval("SELECT current_database()")
        await holder.execute(f'ALTER DATABASE "{name}" SET lock_timeout = 1')
        writer = await open_backend(where)
        try:
            async with holder.transaction():
                await holder.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
                async with writer.atomic() as tx:  # takes WRITE_LOCK first
                    await tx.execute(INSERT_INBOX, (3, "{}", NOW))
        finally:
            await writer.close()
    finally:
        await holder.close()


SAME_FAILURES = [
    (insert_twice, Failure.UNIQUE),
    (post_of_a_missing_channel, Failure.CONSTRAINT),
    (update_without_payload, Failure.CONSTRAINT),
    (write_while_another_writer_holds_the_lock, Failure.BUSY),
]


@pytest.mark.parametrize(
    ("provoke", "expected"), SAME_FAILURES, ids=lambda p: getattr(p, "__name__", str(p))
)
async def test_the_same_failure_is_the_same_kind_and_line_on_both_databases(
    both: dict[str, tuple[Backend, str]], provoke: Provoke, expected: Failure
) -> None:
    lite_db, lite_where = both["sqlite"]
    pg_db, pg_where = both["postgresql"]
    lite = await failure_of(provoke, lite_db, lite_where)
    pg = await failure_of(provoke, pg_db, pg_where)
    assert (classify(lite), classify(pg)) == (expected, expected), (lite, pg)
    assert error_reply(lite) == error_reply(pg) != SOMETHING_WENT_WRONG
    lite_line, pg_line = describe(lite, "DB"), describe(pg, "DB")
    assert lite_line.startswith("database DB: ") and "\n" not in lite_line + pg_line
    assert lite_line.removesuffix(f" ({code_name(lite)})") == pg_line.removesuffix(
        f" ({code_name(pg)})"
    )
    assert code_name(lite).startswith("SQLITE_") and code_name(pg).startswith("SQLSTATE ")


async def test_a_database_that_is_gone_is_unreachable_on_both(tmp_path: Path, pg_url: str) -> None:
    lite = await failure_of(
        lambda _db, where: open_backend(where), None, str(tmp_path / "no" / "x.db")
    )
    pg_db = await open_backend(pg_url)
    admin = await asyncpg.connect(pg_url)
    try:  # the server ends the session under a running statement (as a restart would)
        running = asyncio.ensure_future(pg_db.fetchval("SELECT pg_sleep(60)"))
        async with asyncio.timeout(30):
            while not await admin.fetchval(ACTIVE_SLEEP):  # noqa: ASYNC110 - another session
                await asyncio.sleep(0.01)
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pg = await failure_of(lambda _db, _where: running, pg_db, pg_url)
        missing = pg_url.rsplit("/", 1)[0] + "/no_such_database"
        no_database = await failure_of(lambda _db, where: asyncpg.connect(where), pg_db, missing)
    finally:
        await admin.close()
        await pg_db.close()
    failures = [classify(e) for e in (lite, pg, no_database)]
    assert failures == [Failure.UNREACHABLE] * 3, (lite, pg, no_database)
    assert error_reply(lite) == error_reply(pg) == error_reply(no_database)
    assert "FRAMEWATCH_DB_PATH" in describe(lite, "x.db")
    assert "FRAMEWATCH_DATABASE_URL" in describe(pg, "postgresql://db/fw")


async def test_words_in_a_message_never_decide_the_kind(pg_url: str, tmp_path: Path) -> None:
    """A statement that names a missing column "unique violation deadlock locked": a
    statement error (SQLITE_ERROR, SQLSTATE 42703) on both, whatever its message says."""
    sql = "SELECT unique_violation_deadlock_locked_disk_full FROM inbox"
    for target in (str(tmp_path / "fw.db"), pg_url):
        db = await open_backend(target)
        try:
            error = await failure_of(lambda db, _w: db.fetchval(sql), db, target)
        finally:
            await db.close()
        assert classify(error) is Failure.SQL, error
        assert error_reply(error) == SOMETHING_WENT_WRONG


def test_what_is_not_a_database_error_is_not_classified() -> None:
    assert classify(ValueError("UNIQUE constraint failed")) is None
    assert classify(OSError("database is locked")) is None


@sqlite_only_because("holds the SQLite file's write lock with sqlite3; PostgreSQL's 55P03 above")
async def test_a_busy_database_gets_its_own_reply_and_the_retry_works(harness: Harness) -> None:
    """The reply a user sees (handlers/errors.py), through the real application: the
    update is saved, then another writer holds the database while it is handled."""
    update = {"update_id": 900, **private_message(STRANGER, "/subscribe")}
    await harness.services.inbox.save([InboxUpdate(900, json.dumps(update))], NOW_TIME)
    holder = sqlite3.connect(harness.services.settings.db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        await harness.db.fetchval("PRAGMA busy_timeout = 0")
        await harness.poller.dispatch_saved()
    finally:
        holder.close()
    assert [m.text for m in harness.tg.sent_to(STRANGER)] == [
        "My database was busy with another change, so nothing was changed. Please send that again."
    ]
    assert not await harness.services.subscribers.is_active(STRANGER)
    # The user sends it again (the saved one, left pending, is handled too: idempotent).
    again = await harness.command(STRANGER, "/subscribe")
    assert again and not any("nothing was changed" in text for text in again)
    assert await harness.services.subscribers.is_active(STRANGER)
