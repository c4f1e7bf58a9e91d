"""The `framewatch` command line: run, scan, search, demo."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from telegram.error import InvalidToken, NetworkError

from bot.config import ConfigError, Settings, load_settings
from bot.context import Services
from bot.links import post_link
from bot.logs import configure_logging, redact
from storage.db import Database, open_database
from storage.search import HIGHLIGHT_END, HIGHLIGHT_START, QuerySyntaxError

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
    search.add_argument("--limit", type=int, default=10, help="how many results (default 10)")
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
        settings = load_settings()
        configure_logging(
            settings.log_level if args.command == "run" else "WARNING",
            secrets=settings.secrets(),
        )
        if args.command == "run":
            settings.token()  # fail now, with one clear line, if it is missing
        handler: Handler = getattr(args, "handler", None) or _COMMANDS[args.command]
        return asyncio.run(handler(settings, args))
    except ConfigError as exc:
        print(f"framewatch: {exc}", file=sys.stderr)
        return 2
    except InvalidToken:
        # PTB's own message quotes the token: say it in our words instead.
        print(
            "framewatch: Telegram rejected FRAMEWATCH_BOT_TOKEN (unauthorized): copy the token "
            "again from @BotFather",
            file=sys.stderr,
        )
        return 2
    except NetworkError as exc:
        print(
            f"framewatch: cannot reach the Bot API at {settings.api_base_url} "
            f"({redact(str(exc), settings.secrets())}); "
            "check FRAMEWATCH_API_BASE_URL and the network",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130


async def with_services(
    path: str, work: Callable[[Services], Awaitable[int]], settings: Settings
) -> int:
    from bot.app import utc_now

    db: Database = await open_database(path)
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
        print(await scan_output(report, services.framings, services.matches, args.verbose))
        return 0

    return await with_services(settings.db_path, work, settings)


async def _search(settings: Settings, args: argparse.Namespace) -> int:
    async def work(services: Services) -> int:
        try:
            hits = await services.search.search(args.query, limit=max(1, min(args.limit, 1000)))
        except QuerySyntaxError as exc:
            print(
                f'framewatch: cannot read the query ({exc}). Write words, "a phrase", '
                "OR / NOT in capitals, or a prefix*.",
                file=sys.stderr,
            )
            return 2
        tz = settings.zone
        for h in hits:
            snippet = h.snippet.replace(HIGHLIGHT_START, "[").replace(HIGHLIGHT_END, "]")
            print(
                f"{h.posted_at.astimezone(tz):%Y-%m-%d %H:%M}  "
                f"{post_link(h.chat_id, h.channel_username, h.message_id)}\n    {snippet}"
            )
        print(f"{len(hits)} result(s).")
        return 0

    return await with_services(settings.db_path, work, settings)


async def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo import demo_summary, run_demo

    _remove_database(args.db)

    async def work(services: Services) -> int:
        print(demo_summary(await run_demo(services)))
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
