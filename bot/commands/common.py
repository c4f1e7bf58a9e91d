"""What every `framewatch` subcommand shares: opening the database, failing in one line.

Below bot.cli (which lists the commands) and the command modules (which use these), so
nothing imports back up. Light to import, as every command module's parser part is: bot.cli
imports them all to build its parser, and what a handler needs it imports when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeAlias

from bot.terminal import clean
from storage.numbers import ascii_int

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.context import Services

# A subcommand's handler: an async function of settings and args returning the exit code.
Handler: TypeAlias = "Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]"
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def count_argument(text: str) -> int:
    """argparse type of a count: ASCII digits only (int() would read "١٠" as 10)."""
    number = ascii_int(text.strip())
    if number is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number: write digits 0-9")
    return number


def fail(message: str, code: int) -> int:
    print(f"framewatch: {clean(message, multiline=True)}", file=sys.stderr)
    return code


async def with_services(
    path: str,
    work: Callable[[Services], Awaitable[int]],
    settings: Settings,
    *,
    read_only: bool = False,
) -> int:
    """Open the database, run `work`, close the database whatever happens. The SQLite file
    FRAMEWATCH_DB_PATH is PostgreSQL instead when FRAMEWATCH_DATABASE_URL is set."""
    from bot.clock import utc_now
    from bot.context import Services
    from bot.database import open_db

    db = await open_db(settings.database(path), read_only=read_only)
    services = Services.create(settings, db, utc_now)
    try:
        return await work(services)
    finally:
        try:
            await services.close()
        finally:
            await db.close()
