"""The `framewatch` command line: run, scan, search, demo."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import pkgutil
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from telegram.error import InvalidToken, NetworkError

from bot.config import ConfigError, Settings, check_db_path, load_settings
from bot.context import Services
from bot.links import post_link
from bot.logs import configure_logging, redact
from bot.terminal import clean
from storage.db import Database, open_database
from storage.errors import describe
from storage.numbers import ascii_int
from storage.search import HIGHLIGHT_END, HIGHLIGHT_START, QuerySyntaxError, QueryTooLongError

log = logging.getLogger(__name__)

DEMO_DB = "framewatch-demo.db"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="framewatch",
        description="Watch Telegram channels for recurring propaganda framings.",
        epilog="Settings come from FRAMEWATCH_* environment variables or .env (see README).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser(
        "run",
        help="run the bot (needs FRAMEWATCH_BOT_TOKEN)",
        description="Run the bot: poll Telegram, store posts, scan, send digests.",
    )
    scan = sub.add_parser(
        "scan",
        help="match stored posts against all terms now and print new matches per framing",
        description="One scan pass now; prints new matches per framing with an example.",
    )
    scan.add_argument("--verbose", action="store_true", help="print every new match too")
    search = sub.add_parser(
        "search",
        help="full-text search of stored posts",
        description="Full-text search (SQLite FTS5) of stored posts.",
    )
    search.add_argument("query", help='e.g. "жест доброй воли" or \'"organized withdrawal"\'')
    search.add_argument(
        "--limit", type=count_argument, default=10, help="how many results (default 10)"
    )
    demo = sub.add_parser(
        "demo",
        help="offline demo on a fresh database, prints a digest",
        description="Load the default framings and invented sample posts into "
        "a fresh database, scan, and print the digest.",
    )
    demo.add_argument(
        "--db", default=DEMO_DB, help=f"database file to recreate (default {DEMO_DB})"
    )
    _add_plugin_commands(sub)
    return parser


Handler = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]


def count_argument(text: str) -> int:
    """argparse type of a count: ASCII digits only (int() would read "١٠" as 10)."""
    number = ascii_int(text.strip())
    if number is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number: write digits 0-9")
    return number


def _add_plugin_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Subcommands from bot/commands/*.py: each module has add_to(sub), and every parser it
    adds sets `handler` (an async function of settings and args returning the exit code)."""
    import bot.commands

    for info in sorted(pkgutil.iter_modules(bot.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"bot.commands.{info.name}")
        module.add_to(sub)


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
    try:
        settings = load_settings()
    except ConfigError as exc:
        return _fail(str(exc), 2)
    try:
        configure_logging(
            settings.log_level if args.command == "run" else "WARNING",
            secrets=settings.secrets(),
        )
        if args.command == "run":
            settings.token()  # fail now, with one clear line, if it is missing
        handler: Handler = getattr(args, "handler", None) or _COMMANDS[args.command]
        return asyncio.run(handler(settings, args))
    except ConfigError as exc:
        return _fail(str(exc), 2)
    except sqlite3.Error as exc:
        # with_services and run_bot closed the database on the way out, so the process
        # can exit (an open aiosqlite connection's thread would keep it alive).
        return _fail(describe(exc, getattr(args, "db", None) or settings.db_path), 1)
    except InvalidToken:
        # PTB's own message quotes the token: say it in our words instead.
        return _fail(
            "Telegram rejected FRAMEWATCH_BOT_TOKEN (unauthorized): copy the token "
            "again from @BotFather",
            2,
        )
    except NetworkError as exc:
        return _fail(
            f"cannot reach the Bot API at {settings.api_base_url} "
            f"({redact(str(exc), settings.secrets())}); "
            "check FRAMEWATCH_API_BASE_URL and the network",
            1,
        )
    except KeyboardInterrupt:
        return 130


def _fail(message: str, code: int) -> int:
    print(f"framewatch: {clean(message, multiline=True)}", file=sys.stderr)
    return code


async def with_services(
    path: str,
    work: Callable[[Services], Awaitable[int]],
    settings: Settings,
    *,
    read_only: bool = False,
) -> int:
    """Open the database, run `work`, close the database whatever happens."""
    from bot.app import utc_now

    db: Database = await open_database(path, read_only=read_only)
    try:
        return await work(Services.create(settings, db, utc_now))
    finally:
        await db.close()


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import run_bot

    await run_bot(settings)
    return 0


async def _scan(settings: Settings, args: argparse.Namespace) -> int:
    from bot.scan import run_scan
    from bot.scan_report import scan_output

    async def work(services: Services) -> int:
        report = await run_scan(services.framings, services.matches, services.clock)
        output = await scan_output(report, services.framings, services.matches, args.verbose)
        print(clean(output, multiline=True))
        return 0

    return await with_services(settings.db_path, work, settings)


async def _search(settings: Settings, args: argparse.Namespace) -> int:
    async def work(services: Services) -> int:
        try:
            hits = await services.search.search(args.query, limit=max(1, min(args.limit, 1000)))
        except QueryTooLongError as exc:
            return _fail(f"the query is {exc}; shorten it", 2)
        except QuerySyntaxError as exc:
            return _fail(
                f'cannot read the query ({exc}). Write words, "a phrase", '
                "OR / NOT in capitals, or a prefix*.",
                2,
            )
        tz = settings.zone
        for h in hits:
            snippet = clean(h.snippet.replace(HIGHLIGHT_START, "[").replace(HIGHLIGHT_END, "]"))
            print(
                f"{h.posted_at.astimezone(tz):%Y-%m-%d %H:%M}  "
                f"{post_link(h.chat_id, h.channel_username, h.message_id)}\n    {snippet}"
            )
        print(f"{len(hits)} result(s).")
        return 0

    return await with_services(settings.db_path, work, settings, read_only=True)


async def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo import demo_summary, run_demo

    try:
        check_db_path(args.db)
    except ValueError as exc:
        return _fail(f"--db: {exc}", 2)
    _remove_database(args.db)

    async def work(services: Services) -> int:
        print(clean(demo_summary(await run_demo(services)), multiline=True))
        print(
            f"\n(Demo database: {args.db}; try: FRAMEWATCH_DB_PATH={args.db} "
            "framewatch search 'жест доброй воли')"
        )
        return 0

    return await with_services(args.db, work, settings)


def _remove_database(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


_COMMANDS: dict[str, Handler] = {
    "run": _run,
    "scan": _scan,
    "search": _search,
    "demo": _demo,
}
