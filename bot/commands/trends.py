"""`framewatch trends`: daily counts and spikes per framing, as JSON Lines or CSV, and a chart.

Days are local days in FRAMEWATCH_TIMEZONE. One row per framing and day that has a matched
post (a spike always has some).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot import outfile
from bot.commands.common import fail, with_services
from bot.localdays import local_day
from bot.outfile import atomic_binary_file, text_output

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.context import Services
    from bot.trend_status import TrendDay

COLUMNS = (
    "framing", "day", "posts", "channels", "share", "expected", "limit", "p_value", "spike",
    "new",
)  # fmt: skip
CHART_FRAMINGS = 6  # framings drawn in --chart, spikes first
MAX_DAYS = 3660


class UsageError(ValueError):
    """A bad argument: printed as one line, exit code 2."""


def add_to(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    trends = sub.add_parser(
        "trends",
        help="daily posts, share and spikes per framing",
        description="One row per framing and local day (FRAMEWATCH_TIMEZONE) with matched "
        "posts: posts, channels, share of all stored posts, expected count, spike limit, "
        "p-value, spike, new. Watchdog and unapproved channels do not count.",
    )
    trends.add_argument("--framing", help="only this framing (its slug)")
    trends.add_argument("--since", help="first day, YYYY-MM-DD (default: the first stored post)")
    trends.add_argument("--until", help="last day, YYYY-MM-DD (default: today)")
    trends.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    trends.add_argument("--output", help="file to write (default: standard output)")
    trends.add_argument("--chart", help="also draw the daily posts as a PNG file")
    trends.set_defaults(handler=_trends)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date: write it as 2026-05-01") from None


def check_target(path: str, option: str) -> None:
    """Refuse to write anything but a regular file (a link, a device, a folder, a pipe)."""
    try:
        outfile.check_target(Path(path))
    except outfile.OutputError as exc:
        raise UsageError(f"{option}: {exc}") from None


async def _range(services: Services, args: argparse.Namespace) -> tuple[date, date]:
    from bot.trend_data import first_stored_day

    tz = services.settings.zone
    until = _day(args.until, "--until") if args.until else local_day(services.clock(), tz)
    if args.since:
        since = _day(args.since, "--since")
    else:
        since = await first_stored_day(services.db, tz) or until
    if since > until:
        raise UsageError(f"--since {since} is after --until {until}")
    if (until - since).days >= MAX_DAYS:
        raise UsageError(f"at most {MAX_DAYS} days at a time: narrow --since/--until")
    return since, until


async def _trends(settings: Settings, args: argparse.Namespace) -> int:
    from bot.trend_data import load_trends, trend_params  # scipy: only for this command

    async def work(services: Services) -> int:
        try:
            for target, option in ((args.output, "--output"), (args.chart, "--chart")):
                if target:
                    check_target(target, option)
            since, until = await _range(services, args)
            if args.framing is not None and not await services.framings.exists(args.framing):
                raise UsageError(
                    f"no framing is called {args.framing!r}: `framewatch framings list` lists them"
                )
        except UsageError as exc:
            return fail(str(exc), 2)
        series = await load_trends(
            services.db,
            settings.zone,
            since,
            until,
            trend_params(settings),
            args.framing,
        )
        rows = [d for slug in sorted(series) for d in series[slug] if d.posts or d.spike]
        try:
            with _output(args.output) as out:
                _write(rows, args.format, out)
            if args.chart:
                _chart(series, args.chart)
        except outfile.OutputError as exc:
            return fail(str(exc), 2)
        except OSError as exc:
            return fail(f"cannot write: {exc.strerror or exc}", 2)
        print(f"Wrote {len(rows)} rows ({since} to {until}).", file=sys.stderr)
        return 0

    return await with_services(settings.db_path, work, settings)


def row_of(day: TrendDay) -> dict[str, Any]:
    return {
        "framing": day.framing,
        "day": day.day.isoformat(),
        "posts": day.posts,
        "channels": day.channels,
        "share": round(day.share, 6),
        "expected": round(day.expected, 3),
        "limit": day.limit,
        "p_value": float(f"{day.p_value:.6g}"),
        "spike": day.spike,
        "new": day.new,
    }


def _write(rows: list[TrendDay], kind: str, out: TextIO) -> None:
    if kind == "jsonl":
        for day in rows:
            out.write(json.dumps(row_of(day)) + "\n")
        return
    table = csv.writer(out)
    table.writerow(COLUMNS)
    for day in rows:
        row = row_of(day)
        table.writerow(
            [str(v).lower() if isinstance(v, bool) else v for v in (row[c] for c in COLUMNS)]
        )


def _chart(series: dict[str, list[TrendDay]], path: str) -> None:
    from bot.charts import render_trends

    ranked = sorted(
        series.items(), key=lambda kv: (-sum(d.spike for d in kv[1]), -sum(d.posts for d in kv[1]))
    )
    png = render_trends(dict(ranked[:CHART_FRAMINGS]), "Daily matched posts")
    with _output(path, binary=True) as out:
        out.write(png)


def _output(path: str | None, binary: bool = False) -> AbstractContextManager[Any]:
    """Standard output, or a regular file that appears only once complete (bot.outfile)."""
    if binary and path is not None:
        return atomic_binary_file(Path(path))
    return text_output(path)
