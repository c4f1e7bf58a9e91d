"""The `framewatch` command line: parses the arguments, runs the chosen command.

Every command is listed once, in COMMANDS: each module adds its parsers with add_to(sub)
and sets `handler` on each (see bot/commands/common.py for what they share).

Importing this module stays light (tests/test_cli_imports.py): the command modules import
what their handlers need inside the handlers, and this module imports settings, logging
and asyncio only to run one. A scan's worker processes import it again (bot/scan_pool.py,
through the `framewatch` script), and each import of the whole bot cost them 0.7 s.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.commands import (
    audit,
    copy_db,
    core,
    export,
    follow,
    framings,
    importer,
    inbox,
    network,
    propagation,
    serve,
    trends,
    worker,
)
from bot.commands.common import fail

if TYPE_CHECKING:
    from bot.commands.common import Handler
    from bot.config import Settings

# Every `framewatch` subcommand, in the order `framewatch --help` lists them.
COMMANDS = (
    core,
    follow,
    framings,
    importer,
    export,
    inbox,
    trends,
    propagation,
    network,
    audit,
    serve,
    copy_db,
    worker,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="framewatch",
        description="Watch Telegram channels for recurring propaganda framings.",
        epilog="Settings come from FRAMEWATCH_* environment variables or .env (see README).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_to(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Opt in to PTB 22's timedelta-valued RetryAfter.retry_after (bot.inbox reads either),
    # which silences its deprecation warning on every flood wait.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    args = _parser().parse_args(argv)
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # here, not at exit, where a closed pipe cannot be caught
        return code
    except BrokenPipeError:
        # The reader stopped early (`| head`): its choice, not an error. Point stdout at
        # /dev/null so the final flush at exit does not complain again (Python's advice).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    """Run the command; every failure a user can fix ends in one line and an exit code."""
    import asyncio

    from bot.config import ConfigError, load_settings
    from bot.logs import configure_logging, redact
    from storage.errors import classify, describe

    try:
        settings = load_settings()
    except ConfigError as exc:
        return fail(str(exc), 2)
    # The commands that run until stopped log at FRAMEWATCH_LOG_LEVEL and need the token
    # (a worker on SQLite only says, in one line, that it needs PostgreSQL).
    long_running = args.command == "run" or (args.command == "worker" and settings.on_postgres)
    try:
        configure_logging(
            settings.log_level if long_running else "WARNING",
            secrets=settings.secrets(),
        )
        if long_running:
            settings.token()  # fail now, with one clear line, if it is missing
        handler: Handler = args.handler
        return asyncio.run(handler(settings, args))
    except ConfigError as exc:
        return fail(str(exc), 2)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # Telegram's refusal, or a database's failure, in one line
        telegram = _telegram_failure(exc, settings)
        if telegram is not None:
            return telegram
        # with_services and run_bot closed the database on the way out, so the process
        # can exit (an open aiosqlite connection's thread would keep it alive).
        if classify(exc) is None:
            raise
        return fail(redact(describe(exc, _where(exc, args, settings)), settings.secrets()), 1)


def _telegram_failure(exc: Exception, settings: Settings) -> int | None:
    """A rejected token or an unreachable Bot API said in one line (its exit code), or None.

    python-telegram-bot is imported only by the commands that talk to Telegram: when no
    command imported it, the failure cannot be one of its errors, and the commands that
    never need it do not pay for importing it here."""
    if "telegram.error" not in sys.modules:
        return None
    from telegram.error import InvalidToken, NetworkError

    from bot.logs import redact

    if isinstance(exc, InvalidToken):
        # PTB's own message quotes the token: say it in our words instead.
        return fail(
            "Telegram rejected FRAMEWATCH_BOT_TOKEN (unauthorized): copy the token "
            "again from @BotFather",
            2,
        )
    if isinstance(exc, NetworkError):
        return fail(
            f"cannot reach the Bot API at {settings.api_base_url} "
            f"({redact(str(exc), settings.secrets())}); "
            "check FRAMEWATCH_API_BASE_URL and the network",
            1,
        )
    return None


def _where(exc: Exception, args: argparse.Namespace, settings: Settings) -> str:
    """The failed database as a person knows it: the SQLite file, or the masked URL."""
    import sqlite3

    if isinstance(exc, sqlite3.Error):
        return str(getattr(args, "db", None) or settings.db_path)
    from storage.pg.connect import masked_url

    return masked_url(settings.database())
