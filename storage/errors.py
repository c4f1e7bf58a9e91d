"""SQLite failures, told apart by their result code, never by the words of the message.

SQLite's messages are English prose that may change between versions, and a message can
quote the statement or the user's search words ("disk", "locked"...). The result code is
the stable contract: its low byte is the primary code (SQLITE_BUSY, SQLITE_READONLY...),
the rest refines it (SQLITE_READONLY_DIRECTORY, SQLITE_IOERR_WRITE...).
"""

from __future__ import annotations

import sqlite3
from enum import Enum


class Failure(Enum):
    """What went wrong with the database, as far as a user can act on it."""

    BUSY = "busy"  # another process holds the lock: try again
    CORRUPT = "corrupt"  # the file is damaged or is not an SQLite database
    READ_ONLY = "read-only"  # the file or its folder cannot be written
    FULL = "full"  # the disk (or a size limit) is full
    IO = "i/o"  # the operating system failed to read or write
    CANNOT_OPEN = "cannot open"  # missing folder, a folder in place of the file, no access
    SQL = "sql"  # SQLITE_ERROR: the statement itself, e.g. an FTS5 query that does not parse
    OTHER = "other"


_BY_PRIMARY_CODE = {
    sqlite3.SQLITE_BUSY: Failure.BUSY,
    sqlite3.SQLITE_LOCKED: Failure.BUSY,
    sqlite3.SQLITE_CORRUPT: Failure.CORRUPT,
    sqlite3.SQLITE_NOTADB: Failure.CORRUPT,
    sqlite3.SQLITE_READONLY: Failure.READ_ONLY,
    sqlite3.SQLITE_PERM: Failure.READ_ONLY,
    sqlite3.SQLITE_FULL: Failure.FULL,
    sqlite3.SQLITE_IOERR: Failure.IO,
    sqlite3.SQLITE_CANTOPEN: Failure.CANNOT_OPEN,
    sqlite3.SQLITE_AUTH: Failure.CANNOT_OPEN,
    sqlite3.SQLITE_ERROR: Failure.SQL,
}

_ADVICE = {
    Failure.BUSY: "it is locked by another program (is the bot writing to it?); try again",
    Failure.CORRUPT: "the file is damaged or is not a FrameWatch database; restore it from a "
    "backup or point FRAMEWATCH_DB_PATH at another file",
    Failure.READ_ONLY: "it cannot be written (the file or its folder is read-only); check the "
    "permissions or point FRAMEWATCH_DB_PATH elsewhere",
    Failure.FULL: "the disk is full; free some space and run the command again (nothing "
    "half-written was kept)",
    Failure.IO: "the system could not read or write the file (a disk or network fault); "
    "check the disk",
    Failure.CANNOT_OPEN: "it cannot be opened (does its folder exist, is the path a folder, "
    "may this user open it?); check FRAMEWATCH_DB_PATH",
    Failure.SQL: "SQLite refused a statement; the database may come from another program",
    Failure.OTHER: "SQLite failed",
}


def classify(exc: sqlite3.Error) -> Failure:
    """The kind of failure, from the exception's result code (sqlite_errorcode)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return Failure.OTHER
    return _BY_PRIMARY_CODE.get(code & 0xFF, Failure.OTHER)


def describe(exc: sqlite3.Error, path: str) -> str:
    """One line for a person: which database, what went wrong, what to do."""
    failure = classify(exc)
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    return f"database {path}: {_ADVICE[failure]} ({name})"
