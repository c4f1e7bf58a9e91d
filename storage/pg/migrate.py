"""The PostgreSQL migrations (storage/pg/migrations/NNNN_name.sql), applied in order.

Recorded in schema_migrations like SQLite's (same table, same columns), but the numbers are
PostgreSQL's own: 0001 here is SQLite's 0001..0016. All pending files run in one transaction
under an advisory lock, so several processes starting at once apply each file once, and a
failed file leaves the database as it was.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import asyncpg

from storage.migration_files import sql_files

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key: "FrameWatch migrations" (any constant other code does not use).
MIGRATION_LOCK = 0x4657_4D49_4752


def migration_files() -> list[tuple[int, str, str]]:
    return sql_files("pg", "migrations")


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the migrations not yet recorded; return the names applied."""
    done = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        applied = {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in migration_files():
            if version in applied:
                continue
            await conn.execute(sql)  # no arguments: the simple protocol runs the whole file
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                version,
                name,
                datetime.now(UTC).isoformat(),
            )
            log.info("applied PostgreSQL migration %s", name)
            done.append(name)
    return done
