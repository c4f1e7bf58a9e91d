"""The core `framewatch` subcommands: run, scan, index, search, demo."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

from bot.commands.common import Subparsers, count_argument, fail, with_services
from bot.links import post_link
from bot.terminal import clean

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.context import Services
    from storage.models import SearchHit

DEMO_DB = "framewatch-demo.db"


def add_to(sub: Subparsers) -> None:
    run = sub.add_parser(
        "run",
        help="run the bot (needs FRAMEWATCH_BOT_TOKEN)",
        description="Run the bot: poll Telegram, store posts, scan, send digests.",
    )
    run.add_argument(
        "--webhook",
        metavar="URL",
        help="take updates from Telegram's POSTs to this https URL instead of polling "
        "(needs FRAMEWATCH_WEBHOOK_SECRET; see README, Webhook intake)",
    )
    run.set_defaults(handler=_run)
    scan = sub.add_parser(
        "scan",
        help="match stored posts against all terms now and print new matches per framing",
        description="One scan pass now; prints new matches per framing with an example.",
    )
    scan.add_argument("--verbose", action="store_true", help="print every new match too")
    scan.set_defaults(handler=_scan)
    sub.add_parser(
        "index",
        help="build the search and near-duplicate indexes of stored posts now",
        description="Lemmatise and fingerprint every post still waiting for the indexes "
        "that /search and propagation read (a running bot does it in the background).",
    ).set_defaults(handler=_index)
    search = sub.add_parser(
        "search",
        help="search stored posts by meaning (every form of the words)",
        description="Full-text search of stored posts by meaning: words in any inflected form, "
        '"exact forms", prefix*, OR, NOT, and filters channel:@name framing:slug '
        "since:2024-05-01 until:2024-05-31 watchdog:no.",
    )
    search.add_argument(
        "query", help="e.g. 'киевский режим' or 'жест доброй воли since:2024-05-01'"
    )
    search.add_argument(
        "--limit",
        type=count_argument,
        default=10,
        help="how many results (default 10, at most 1000)",
    )
    search.add_argument(
        "--format",
        choices=("text", "jsonl", "csv"),
        default="text",
        help="text for reading (default), JSON Lines, or CSV with a header row",
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
    from bot.webhook import webhook_config

    webhook = None if args.webhook is None else webhook_config(args.webhook, settings)
    await run_bot(settings, webhook=webhook)
    return 0


async def _scan(settings: Settings, args: argparse.Namespace) -> int:
    from bot.progress import StageBars
    from bot.scan import run_scan
    from bot.scan_pool import worker_count
    from bot.scan_report import scan_output

    async def work(services: Services) -> int:
        bars = StageBars()
        try:
            if services.db.dialect.is_sqlite:
                report = await run_scan(
                    services.framings,
                    services.matches,
                    services.clock,
                    progress=bars,
                    workers=worker_count(settings.scan_workers),
                )
            else:  # claimed batches beside the running processes (bot/work_scan.py)
                from bot.work_scan import ScanWork, run_claimed_scan  # imports PTB: not above

                report = await run_claimed_scan(ScanWork.of(services))
        finally:
            bars.close()
        output = await scan_output(report, services.framings, services.matches, args.verbose)
        print(clean(output, multiline=True))
        return 0

    return await with_services(settings.db_path, work, settings)


async def _index(settings: Settings, args: argparse.Namespace) -> int:
    from bot.indexing import run_indexing
    from bot.progress import StageBars
    from bot.scan_pool import worker_count

    async def work(services: Services) -> int:
        bars = StageBars()
        try:
            report = await run_indexing(
                services.db,
                progress=bars,
                workers=worker_count(settings.scan_workers),
            )
        finally:
            bars.close()
        print(
            f"Indexed {report.posts_lemmatised} posts for search and "
            f"{report.posts_indexed} for near-duplicates."
        )
        return 0

    return await with_services(settings.db_path, work, settings)


async def _search(settings: Settings, args: argparse.Namespace) -> int:
    from bot.search import search_posts
    from bot.search_query import SearchInputError, SearchTooLongError

    async def work(services: Services) -> int:
        try:
            result = await search_posts(
                services.search, args.query, settings.zone, max(1, min(args.limit, 1000))
            )
        except SearchTooLongError as exc:
            return fail(f"the query is {exc}; shorten it", 2)
        except SearchInputError as exc:
            return fail(f"cannot read the query: {exc} {_SEARCH_SYNTAX}", 2)
        if args.format == "text":
            _print_hits(result.hits, settings)
        else:
            _write_rows(result.hits, args.format)
        if result.progress is not None and args.format == "text":
            done = result.progress.stored - result.progress.queued
            print(
                f"(Index of word forms: {done} of {result.progress.stored} posts; the others "
                "are found by the exact forms of the words until the scan reaches them.)"
            )
        return 0

    return await with_services(settings.db_path, work, settings, read_only=True)


_SEARCH_SYNTAX = 'Write words, "a phrase" of exact forms, OR / NOT in capitals, a prefix*.'
SEARCH_COLUMNS = ("date", "link", "channel", "watchdog", "framings", "snippet")


def _print_hits(hits: list[SearchHit], settings: Settings) -> None:
    from storage.search import HIGHLIGHT_END, HIGHLIGHT_START

    for h in hits:
        snippet = clean(h.snippet.replace(HIGHLIGHT_START, "[").replace(HIGHLIGHT_END, "]"))
        framings = f"  [{', '.join(h.framings)}]" if h.framings else ""
        print(
            f"{h.posted_at.astimezone(settings.zone):%Y-%m-%d %H:%M}  "
            f"{post_link(h.chat_id, h.channel_username, h.message_id)}{clean(framings)}\n"
            f"    {snippet}"
        )
    print(f"{len(hits)} result(s).")


def _row(hit: SearchHit) -> dict[str, object]:
    from storage.search import HIGHLIGHT_END, HIGHLIGHT_START

    return {
        "date": hit.posted_at.isoformat(),
        "link": post_link(hit.chat_id, hit.channel_username, hit.message_id),
        "channel": hit.channel_username or hit.channel_title,
        "watchdog": hit.watchdog,
        "framings": " ".join(hit.framings),
        "snippet": hit.snippet.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, ""),
    }


def _write_rows(hits: list[SearchHit], kind: str) -> None:
    """JSON Lines or CSV on standard output; CSV cells made formula-safe (bot.outfile)."""
    from bot.outfile import csv_cell, text_output

    with text_output(None) as out:
        if kind == "jsonl":
            for hit in hits:
                row = _row(hit) | {"framings": list(hit.framings)}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        writer = csv.writer(out)
        writer.writerow(SEARCH_COLUMNS)
        for hit in hits:
            writer.writerow([csv_cell(value) for value in _row(hit).values()])


async def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.config import check_db_path
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
