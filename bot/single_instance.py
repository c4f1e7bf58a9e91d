"""One `framewatch run` per database: an OS lock on `<db>.lock`, held for the process's life.

Two bots on one database both poll (Telegram answers one of them 409 Conflict on every
call) and both run the digest job, so subscribers get each digest twice. flock is released
by the kernel when the process dies, however it dies, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.config import ConfigError


class AlreadyRunningError(ConfigError):
    """Another process holds the database's lock (a ConfigError: the CLI prints the one
    line and exits 2, as for any setting that cannot work)."""


def lock_path(db_path: str) -> Path:
    return Path(db_path + ".lock")


@contextmanager
def single_instance(db_path: str) -> Iterator[None]:
    """Hold the database's instance lock for the block, or raise AlreadyRunningError."""
    if db_path == ":memory:":
        yield
        return
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Opened without truncating: the holder's pid must stay readable for the message.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise AlreadyRunningError(
                f"another FrameWatch is already running on {db_path} (pid {holder}); "
                "stop it first, or set FRAMEWATCH_DB_PATH to another database"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield  # the file stays: deleting it would race with the next process's lock
    finally:
        os.close(fd)  # releases the lock
