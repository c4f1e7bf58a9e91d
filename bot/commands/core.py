"""The core `framewatch` subcommands: run, scan, search, demo."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands.common import Subparsers, count_argument, fail, with_services
from bot.config import Settings, check_db_path
from bot.context import Services
from bot.links import post_link
from bot.terminal import clean
from storage.search import HIGHLIGHT_END, HIGHLIGHT_START, QuerySyntaxError, QueryTooLongError

DEMO_DB = "framewatch-demo.db"


def add_to(sub: Subparsers) -> None:
    sub.add_parser(
        "run",
        help="run the bot (needs FRAMEWATCH_BOT_TOKEN)",
        description="Run the bot: poll Telegram, store posts, scan, send digests.",
    ).set_defaults(handler=_run)
    scan = sub.add_parser(
        "scan",
        help="match stored posts against all terms now and print new matches per framing",
        description="One scan pass now; prints new matches per framing with an example.",
    )
    scan.add_argument("--verbose", action="store_true", help="print every new match too")
    scan.set_defaults(handler=_scan)
    search = sub.add_parser(
        "search",
        help="full-text search of stored posts",
        description="Full-text search (SQLite FTS5) of stored posts.",
    )
    search.add_argument("query", help='e.g. "жест доброй воли" or \'"organized withdrawal"\'')
    search.add_argument(
        "--limit", type=count_argument, default=10, help="how many results (default 10)"
    )
    search.set_defaults(handler=_search)
    demo = sub.add_parser(
        "demo",
        help="offline demo on a fresh database, prints a digest",
        description="Load the default framings and invented sample posts into "
        "a fresh database, scan, and print the digest.",
    )
    demo.add_argument(
        "--db", default=DEMO_DB, help=f"database file to recreate (default {DEMO_DB})"
    )
    demo.set_defaults(handler=_demo)


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import run_bot

    await run_bot(settings)
    return 0


async def _scan(settings: Settings, args: argparse.Namespace) -> int:
    from bot.progress import StageBars
    from bot.scan import run_scan
    from bot.scan_report import scan_output

    async def work(services: Services) -> int:
        bars = StageBars()
        try:
            report = await run_scan(
                services.framings, services.matches, services.clock, progress=bars
            )
        finally:
            bars.close()
        output = await scan_output(report, services.framings, services.matches, args.verbose)
        print(clean(output, multiline=True))
        return 0

    return await with_services(settings.db_path, work, settings)


async def _search(settings: Settings, args: argparse.Namespace) -> int:
    async def work(services: Services) -> int:
        try:
            hits = await services.search.search(args.query, limit=max(1, min(args.limit, 1000)))
        except QueryTooLongError as exc:
            return fail(f"the query is {exc}; shorten it", 2)
        except QuerySyntaxError as exc:
            return fail(
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
        return fail(f"--db: {exc}", 2)
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
