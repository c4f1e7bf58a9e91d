"""`framewatch propagation`: one row per copy-paste or forward cluster of a framing's posts.

Columns: framing, cluster, first_link, first_channel, first_seen, channels, posts, links,
span_seconds, near_duplicate, forwarded, coordinated (bot/propagation.py says what each
means). The near-duplicate index is brought up to date first (posts the scan has not
indexed yet), so the answer covers every stored post.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from bot.commands.common import with_services
from bot.commands.export import UsageError, parse_since
from bot.outfile import OutputError, csv_cell, text_output

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.context import Services
    from bot.propagation_report import FramingPropagation

COLUMNS = (
    "framing", "cluster", "first_link", "first_channel", "first_seen", "channels", "posts",
    "links", "span_seconds", "near_duplicate", "forwarded", "coordinated",
)  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def add_period_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--framing", help="only this framing (its slug)")
    parser.add_argument("--since", help="from this date or ISO 8601 time (default: all)")
    parser.add_argument("--until", help="before this date or ISO 8601 time (default: now)")


def add_to(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "propagation",
        help="copy-paste and forward clusters of each framing, with coordinated pushes",
        description="One row per cluster of 2 or more posts of a framing: near-identical "
        "texts (MinHash LSH over word shingles) or forwards of one original. A cluster is "
        "coordinated when 3+ channels posted near-copies within the coordination window.",
    )
    add_period_arguments(parser)
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--output", help="file to write (default: standard output)")
    parser.set_defaults(handler=_propagation)


async def load_period(services: Services, args: argparse.Namespace) -> list[FramingPropagation]:
    """Check --framing/--since/--until (UsageError), index what is queued, then load."""
    # Imported here: numpy and the MinHash index are for this command and `network` only.
    from bot.neardup_index import index_queued
    from bot.propagation_report import load, window_of
    from storage.neardup import NearDupRepository
    from storage.propagation import PropagationRepository

    since = parse_since(args.since) or _EPOCH
    until = _until(args.until, services)
    if until <= since:
        raise UsageError("--until must be after --since")
    if args.framing is not None and not await services.framings.exists(args.framing):
        raise UsageError(
            f"no framing is called {args.framing!r}: `/framings` in the bot lists them"
        )
    neardups = NearDupRepository(services.db)
    await index_queued(neardups)
    window = window_of(services.settings.coordination_window)
    repo = PropagationRepository(services.db)
    return await load(repo, neardups, args.framing, since, until, window)


def _until(text: str | None, services: Services) -> datetime:
    if text is None:
        return services.clock()
    try:
        until = parse_since(text)
    except UsageError:
        raise UsageError(f"--until {text!r} is not a date: write 2024-05-01") from None
    assert until is not None
    return until


def rows(found: list[FramingPropagation]) -> Iterator[dict[str, Any]]:
    for framing in found:
        for number, cluster in enumerate(framing.clusters, start=1):
            yield {
                "framing": framing.framing,
                "cluster": number,
                "first_link": cluster.first.link,
                "first_channel": cluster.first.channel,
                "first_seen": cluster.first.posted_at.isoformat(),
                "channels": cluster.channels,
                "posts": len(cluster.posts),
                "links": [p.link for p in cluster.posts],
                "span_seconds": int(cluster.span.total_seconds()),
                "near_duplicate": cluster.near_duplicate,
                "forwarded": cluster.forwarded,
                "coordinated": cluster.coordinated,
            }


async def _propagation(settings: Settings, args: argparse.Namespace) -> int:

    async def work(services: Services) -> int:
        try:
            found = await load_period(services, args)
        except UsageError as exc:
            print(f"framewatch: {exc}", file=sys.stderr)
            return 2
        count = 0
        try:
            with output(args.output) as out:
                if args.format == "csv":
                    csv.writer(out).writerow(COLUMNS)
                for row in rows(found):
                    write_row(out, args.format, row)
                    count += 1
        except OutputError as exc:
            print(f"framewatch: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"framewatch: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
            return 2
        print(f"Wrote {count} clusters to {args.output or 'standard output'}.", file=sys.stderr)
        return 0

    return await with_services(settings.db_path, work, settings)


def write_row(out: TextIO, kind: str, row: dict[str, Any]) -> None:
    if kind == "jsonl":
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        csv.writer(out).writerow([_cell(row[c]) for c in COLUMNS])


def _cell(value: Any) -> Any:
    return csv_cell(" ".join(value) if isinstance(value, list) else value)


def output(path: str | None) -> AbstractContextManager[TextIO]:
    """Standard output, or a regular file that appears only once complete (bot.outfile)."""
    return text_output(path)
