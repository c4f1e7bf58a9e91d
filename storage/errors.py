"""Database failures, told apart by their codes, never by the words of the message, on
SQLite and on PostgreSQL alike: one Failure for the same failure on either.

SQLite's messages are English prose that may change between versions, and a message can
quote the statement or the user's search words ("disk", "locked"...). The result code is
the stable contract: its low byte is the primary code (SQLITE_BUSY, SQLITE_CONSTRAINT...),
the rest refines it (SQLITE_CONSTRAINT_UNIQUE, SQLITE_IOERR_WRITE...). PostgreSQL's is the
SQLSTATE (asyncpg's `sqlstate`): a two-character class ("23" integrity, "08" connection)
and the condition within it ("23505" unique_violation).
"""

from __future__ import annotations

import sqlite3
import sys
from enum import Enum


class Failure(Enum):
    """What went wrong with the database, as far as a user can act on it."""

    UNIQUE = "unique"  # a row with the same unique key exists
    CONSTRAINT = "constraint"  # another rule of the schema: foreign key, NOT NULL, CHECK
    BUSY = "busy"  # another writer holds a lock, or a transaction conflicted: try again
    UNREACHABLE = "unreachable"  # the file cannot be opened, the server is gone
    CORRUPT = "corrupt"  # the file is damaged or is not an SQLite database
    READ_ONLY = "read-only"  # the file or its folder cannot be written; no write privilege
    FULL = "full"  # the disk (or a size limit) is full
    IO = "i/o"  # the operating system failed to read or write
    SQL = "sql"  # the statement itself, e.g. an FTS5 query that does not parse
    OTHER = "other"


_SQLITE_EXTENDED = {
    sqlite3.SQLITE_CONSTRAINT_UNIQUE: Failure.UNIQUE,
    sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY: Failure.UNIQUE,
}
_SQLITE_PRIMARY = {
    sqlite3.SQLITE_CONSTRAINT: Failure.CONSTRAINT,
    sqlite3.SQLITE_BUSY: Failure.BUSY,
    sqlite3.SQLITE_LOCKED: Failure.BUSY,
    sqlite3.SQLITE_CANTOPEN: Failure.UNREACHABLE,
    sqlite3.SQLITE_AUTH: Failure.UNREACHABLE,
    sqlite3.SQLITE_CORRUPT: Failure.CORRUPT,
    sqlite3.SQLITE_NOTADB: Failure.CORRUPT,
    sqlite3.SQLITE_READONLY: Failure.READ_ONLY,
    sqlite3.SQLITE_PERM: Failure.READ_ONLY,
    sqlite3.SQLITE_FULL: Failure.FULL,
    sqlite3.SQLITE_IOERR: Failure.IO,
    sqlite3.SQLITE_ERROR: Failure.SQL,
}
# SQLSTATEs: whole conditions first, then their class (the first two characters).
_PG_STATES = {
    "23505": Failure.UNIQUE,  # unique_violation
    "40001": Failure.BUSY,  # serialization_failure
    "40P01": Failure.BUSY,  # deadlock_detected
    "55P03": Failure.BUSY,  # lock_not_available (NOWAIT, lock_timeout)
    "57P01": Failure.UNREACHABLE,  # admin_shutdown: the session was terminated
    "57P02": Failure.UNREACHABLE,  # crash_shutdown
    "57P03": Failure.UNREACHABLE,  # cannot_connect_now: starting up or shutting down
    "53300": Failure.UNREACHABLE,  # too_many_connections
    "3D000": Failure.UNREACHABLE,  # invalid_catalog_name: the database does not exist
    "53100": Failure.FULL,  # disk_full
    "58030": Failure.IO,  # io_error
    "XX001": Failure.CORRUPT,  # data_corrupted
    "XX002": Failure.CORRUPT,  # index_corrupted
    "25006": Failure.READ_ONLY,  # read_only_sql_transaction (a standby server)
    "42501": Failure.READ_ONLY,  # insufficient_privilege
}
_PG_CLASSES = {
    "23": Failure.CONSTRAINT,  # integrity_constraint_violation
    "08": Failure.UNREACHABLE,  # connection_exception
    "28": Failure.UNREACHABLE,  # invalid_authorization_specification
    "42": Failure.SQL,  # syntax_error_or_access_rule_violation
}

_ADVICE = {
    Failure.UNIQUE: "that row exists already (a unique key), so nothing was changed",
    Failure.CONSTRAINT: "the change breaks a rule of the schema (a row it refers to is "
    "missing, or a required value is empty), so nothing was changed",
    Failure.BUSY: "another writer holds it or a transaction conflicted; nothing was changed, "
    "try again",
    Failure.CORRUPT: "the file is damaged or is not a FrameWatch database; restore it from a "
    "backup or point FRAMEWATCH_DB_PATH at another file",
    Failure.READ_ONLY: "it cannot be written (a read-only file or folder, or a user without "
    "the right to write); check the permissions",
    Failure.FULL: "the disk is full; free some space and run the command again (nothing "
    "half-written was kept)",
    Failure.IO: "the system could not read or write the data (a disk or network fault); "
    "check the disk",
    Failure.SQL: "the database refused a statement; the database may come from another program",
    Failure.OTHER: "the database failed",
}
_UNREACHABLE_ADVICE = {
    "sqlite": "it cannot be opened (does its folder exist, is the path a folder, may this "
    "user open it?); check FRAMEWATCH_DB_PATH",
    "postgresql": "the server cannot be reached, or ended the session; check that PostgreSQL "
    "runs and FRAMEWATCH_DATABASE_URL, then try again",
}


def classify(exc: BaseException) -> Failure | None:
    """The kind of a database failure by its code; None if `exc` is not a database error."""
    if isinstance(exc, sqlite3.Error):
        return _sqlite_failure(exc)
    if "asyncpg" in sys.modules:  # never import the driver only to look
        return _pg_failure(exc)
    return None


def _sqlite_failure(exc: sqlite3.Error) -> Failure:
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return Failure.OTHER
    return _SQLITE_EXTENDED.get(code) or _SQLITE_PRIMARY.get(code & 0xFF, Failure.OTHER)


def _pg_failure(exc: BaseException) -> Failure | None:
    import asyncpg

    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        return _PG_STATES.get(state) or _PG_CLASSES.get(state[:2], Failure.OTHER)
    # No SQLSTATE: the session is gone. Closed under a statement, or (InternalClientError)
    # ended by the server while idle in the pool, as storage/pg/leader.py meets it too.
    if isinstance(exc, asyncpg.ConnectionDoesNotExistError | asyncpg.InternalClientError):
        return Failure.UNREACHABLE
    if isinstance(exc, asyncpg.InterfaceError):
        return Failure.OTHER
    return None


def code_name(exc: BaseException) -> str:
    """The code a failure is known by: SQLite's name (SQLITE_CONSTRAINT_UNIQUE) or the
    SQLSTATE with asyncpg's class name (SQLSTATE 23505, UniqueViolationError)."""
    name = getattr(exc, "sqlite_errorname", None)
    if isinstance(name, str) and name:
        return name
    state = getattr(exc, "sqlstate", None)
    return f"SQLSTATE {state}, {type(exc).__name__}" if state else type(exc).__name__


def advice(failure: Failure, backend: str) -> str:
    """What a person is told for `failure` ("sqlite" or "postgresql" `backend`)."""
    if failure is Failure.UNREACHABLE:
        return _UNREACHABLE_ADVICE.get(backend, _UNREACHABLE_ADVICE["postgresql"])
    return _ADVICE[failure]


def describe(exc: BaseException, where: str) -> str:
    """One line for a person: which database (a path, or a URL with its password masked),
    what went wrong, what to do, and the code."""
    failure = classify(exc) or Failure.OTHER
    backend = "sqlite" if isinstance(exc, sqlite3.Error) else "postgresql"
    return f"database {where}: {advice(failure, backend)} ({code_name(exc)})"
