"""`framewatch export posts|matches`: stored posts or matches as JSON Lines or CSV.

Rows are streamed from storage page by page and written as they come, so an export of
millions of posts runs in constant memory. With --output the file appears only when the
export is complete, and only a regular file is written (bot.outfile).

CSV cells a spreadsheet would read as a formula (starting with = + - @, or a tab or
carriage return before one) get a leading ' so that opening the export runs nothing;
JSON Lines stay exact.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO, TypeAlias

from bot.commands.common import with_services
from bot.links import post_link
from bot.outfile import OutputError, csv_cell, text_output
from bot.terminal import clean

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.context import Services
    from storage.exports import ExportedMatch, ExportedPost, ExportRepository

POST_COLUMNS = (
    "chat_id", "channel_username", "channel_title", "message_id", "date", "text", "link",
    "views", "edited", "edited_at", "versions", "forwarded_from", "forwarded_link", "author",
    "reply_to", "media", "source",
)  # fmt: skip
MATCH_COLUMNS = (
    "link", "chat_id", "channel_username", "channel_title", "message_id", "post_date",
    "framing", "framing_title", "term", "matched_text", "start", "end", "matched_at",
    "channel_watchdog", "verdict",
)  # fmt: skip
_NAME = re.compile(r"(?:@|(?:https?://)?t\.me/)?([A-Za-z][A-Za-z0-9_]{3,31})/?")


class UsageError(ValueError):
    """A bad argument: the message is printed as one line, and the exit code is 2."""


def add_to(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = sub.add_parser(
        "export",
        help="write stored posts or matches as JSON Lines or CSV",
        description="Write stored posts (whatever their source) or framing matches as JSON "
        "Lines or CSV, streamed: fine for millions of rows.",
    )
    kinds = export.add_subparsers(dest="what", required=True, metavar="posts|matches")
    posts = kinds.add_parser(
        "posts", help="one row per stored post", description="One row per stored post."
    )
    posts.add_argument("--channel", help="only this channel: @username, title or chat id")
    matches = kinds.add_parser(
        "matches",
        help="one row per framing match",
        description="One row per match of a framing's term in a post, with the matched text.",
    )
    matches.add_argument("--framing", help="only this framing (its slug)")
    for parser, handler in ((posts, _export_posts), (matches, _export_matches)):
        parser.add_argument(
            "--format",
            choices=("jsonl", "csv"),
            default="jsonl",
            help="JSON Lines, one object per line (default), or CSV with a header row",
        )
        parser.add_argument(
            "--since",
            help="only posts dated from then on: 2024-05-01 (00:00 UTC) or an ISO 8601 time "
            "such as 2024-05-01T09:00+03:00",
        )
        parser.add_argument("--output", help="file to write (default: standard output)")
        parser.set_defaults(handler=handler)


def parse_since(text: str | None) -> datetime | None:
    """A date (00:00 UTC) or an ISO 8601 time (UTC unless it names an offset)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not a date: write 2024-05-01 or 2024-05-01T09:00+03:00"
        ) from None
    except OverflowError:  # 9999-12-31T23:59-23:59 is past the last UTC date Python has
        raise UsageError(f"--since {text!r} is out of range: give a date before 9999") from None


def channel_candidates(text: str) -> tuple[list[int], str | None]:
    """Chat ids and a username that --channel may mean: -100123 or 123 (as in t.me/c/123)
    for ids, @name, name or t.me/name for a username."""
    from bot.sources.export import bot_api_chat_id

    text = text.strip()
    if re.fullmatch(r"-?[0-9]{1,18}", text):  # ASCII digits: \d would take any script's
        number = int(text)
        return ([number, bot_api_chat_id(number)] if number > 0 else [number]), None
    found = _NAME.fullmatch(text)
    return [], found.group(1) if found else None


async def _export_posts(settings: Settings, args: argparse.Namespace) -> int:
    from storage.exports import ExportRepository

    async def rows(services: Services) -> AsyncGenerator[dict[str, Any]]:
        since = parse_since(args.since)
        exports = ExportRepository(services.db)
        chat_id = await _resolve_channel(exports, args.channel) if args.channel else None
        return (post_row(post) async for post in exports.posts(chat_id, since))

    return await _run(settings, args, POST_COLUMNS, rows, "posts")


async def _export_matches(settings: Settings, args: argparse.Namespace) -> int:
    from storage.exports import ExportRepository

    async def rows(services: Services) -> AsyncGenerator[dict[str, Any]]:
        since = parse_since(args.since)
        if args.framing is not None and not await services.framings.exists(args.framing):
            raise UsageError(
                f"no framing is called {args.framing!r}: `/framings` in the bot lists them"
            )
        matches = ExportRepository(services.db).matches(args.framing, since)
        return (match_row(match) async for match in matches)

    return await _run(settings, args, MATCH_COLUMNS, rows, "matches")


async def _resolve_channel(exports: ExportRepository, text: str) -> int:
    chat_ids, username = channel_candidates(text)
    found = await exports.find_channels(chat_ids, username, text.strip())
    if not found:
        raise UsageError(
            f"no stored channel matches --channel {text!r}: give its @username, title or "
            "chat id as `/channels` in the bot shows them"
        )
    if len(found) > 1:
        names = ", ".join(f"{c.title or c.username} ({c.chat_id})" for c in found)
        raise UsageError(f"--channel {text!r} matches several channels: {names}; give a chat id")
    return found[0].chat_id


def post_row(post: ExportedPost) -> dict[str, Any]:
    return {
        "chat_id": post.chat_id,
        "channel_username": post.channel_username,
        "channel_title": post.channel_title,
        "message_id": post.message_id,
        "date": post.posted_at.isoformat(),
        "text": post.text,
        "link": post_link(post.chat_id, post.channel_username, post.message_id),
        "views": post.views,
        "edited": post.edited_at is not None or post.versions > 0,
        "edited_at": post.edited_at.isoformat() if post.edited_at else None,
        "versions": post.versions,
        "forwarded_from": post.forwarded_from,
        "forwarded_link": post.forwarded_link,
        "author": post.author,
        "reply_to": post.reply_to,
        "media": post.media,
        "source": post.source,
    }


def match_row(match: ExportedMatch) -> dict[str, Any]:
    return {
        "link": post_link(match.chat_id, match.channel_username, match.message_id),
        "chat_id": match.chat_id,
        "channel_username": match.channel_username,
        "channel_title": match.channel_title,
        "message_id": match.message_id,
        "post_date": match.posted_at.isoformat(),
        "framing": match.framing_slug,
        "framing_title": match.framing_title,
        "term": match.term,
        "matched_text": match.matched_text,
        "start": match.start,
        "end": match.end,
        "matched_at": match.matched_at,
        "channel_watchdog": match.channel_watchdog,
        "verdict": match.verdict,
    }


_SHOWN_EVERY = 1000  # rows between two updates of the progress bar

RowSource: TypeAlias = "Callable[[Services], Awaitable[AsyncGenerator[dict[str, Any]]]]"


async def _run(
    settings: Settings,
    args: argparse.Namespace,
    columns: tuple[str, ...],
    rows: RowSource,
    what: str,
) -> int:
    """Check the arguments (exit 2 with one line), then stream the rows to the output."""
    from bot.progress import progress_bar

    async def work(services: Services) -> int:
        try:
            stream = await rows(services)
        except UsageError as exc:
            return _usage_error(str(exc))
        count = 0
        target = args.output or "standard output"
        bar = progress_bar(f"exporting {what}")
        try:
            async with aclosing(stream):
                with _output(args.output) as out:
                    write = _writer(args.format, out, columns)
                    async for row in stream:
                        write(row)
                        count += 1
                        if bar is not None and count % _SHOWN_EVERY == 0:
                            bar(count, None)
            if bar is not None:
                bar(count, count)
        except BrokenPipeError:
            raise  # the reader stopped early (`| head`): bot.cli.main ends quietly
        except OutputError as exc:
            return _usage_error(str(exc))
        except OSError as exc:
            return _usage_error(f"cannot write {target}: {exc.strerror or exc}")
        finally:
            if bar is not None:
                bar.close()
        print(clean(f"Wrote {count} {what} to {target}."), file=sys.stderr)
        return 0

    return await with_services(settings.db_path, work, settings)


def _usage_error(message: str) -> int:
    print(f"framewatch: {clean(message)}", file=sys.stderr)
    return 2


_output = text_output  # standard output, or a regular file that appears once complete


def _writer(kind: str, out: TextIO, columns: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    if kind == "jsonl":

        def write_json(row: dict[str, Any]) -> None:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")

        return write_json
    table = csv.writer(out)  # RFC 4180: quotes fields with commas, quotes or newlines
    table.writerow(columns)

    def write_csv(row: dict[str, Any]) -> None:
        table.writerow([_cell(row[column]) for column in columns])

    return write_csv


_cell = csv_cell
