"""Opening the application's database, SQLite or PostgreSQL, and saying in one line what
PostgreSQL does not do yet.

FRAMEWATCH_DATABASE_URL selects PostgreSQL (Settings.database()); without it, the SQLite file
FRAMEWATCH_DB_PATH. Errors name the server by its masked URL, never with its password.
"""

from __future__ import annotations

from bot.config import ConfigError
from storage.backend import Backend
from storage.db import Database, open_backend, open_database


class NotOnPostgresError(ConfigError):
    """Something that so far works on the SQLite file only (a ConfigError: the CLI prints the
    one line and exits 2)."""


def is_postgres_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


async def open_db(target: str, *, read_only: bool = False) -> Backend:
    """The database at `target` (a PostgreSQL URL or a SQLite path), opened and migrated.
    A server that cannot be reached or refuses us is a ConfigError of one line."""
    if not is_postgres_url(target):
        return await open_database(target, read_only=read_only)
    from storage.pg.connect import PgConnectError  # asyncpg only when asked for

    try:
        return await open_backend(target)
    except PgConnectError as exc:
        raise ConfigError(str(exc)) from None


def is_sqlite(db: Backend) -> bool:
    return isinstance(db, Database)


def sqlite_only(db: Backend, what: str) -> Database:
    """`db` as the SQLite Database, for code that still needs SQLite's own interface;
    NotOnPostgresError naming `what` on PostgreSQL (instead of an AttributeError)."""
    if isinstance(db, Database):
        return db
    raise NotOnPostgresError(
        f"{what} works on the SQLite database only so far, not yet on PostgreSQL "
        f"({db.path}); unset FRAMEWATCH_DATABASE_URL to use FRAMEWATCH_DB_PATH"
    )
