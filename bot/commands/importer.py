"""`framewatch import PATH`: store the channel posts of a Telegram Desktop JSON export.

The import itself is bot.importing, imported by the handler when it runs: the parser part
stays light for bot.cli, which builds every command's parser.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.commands.common import fail, with_services
from bot.links import internal_channel_id
from bot.sources.usernames import UsernameError, parse_username
from bot.terminal import clean

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.context import Services
    from bot.importing import ImportReport


def add_to(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "import",
        help="import a Telegram Desktop JSON export (result.json)",
        description="Store the posts of channels and supergroups from a Telegram Desktop "
        "'Export chat history' in JSON (one chat's result.json, or a full-account export). "
        "Importing again changes nothing; edited texts are stored as edits.",
    )
    parser.add_argument("path", help="result.json, or the export folder that contains it")
    parser.add_argument(
        "--username",
        metavar="NAME",
        help="public username of the exported channel, for t.me/NAME/ID links "
        "(exports do not contain it)",
    )
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="time zone of the computer that made an export older than 2021, whose dates "
        "carry no zone (default: FRAMEWATCH_TIMEZONE)",
    )
    parser.set_defaults(handler=_import)


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from bot.config import zone_named
    from bot.importing import import_export
    from bot.progress import progress_bar
    from bot.sources.export import ExportError, open_export
    from bot.sources.export_messages import MessageReader

    try:
        username = parse_username(args.username) if args.username is not None else None
    except UsernameError as exc:
        return fail(f"--username: {exc}", 2)
    zone = zone_named(args.timezone or settings.timezone)
    if zone is None:
        return fail(f"--timezone {args.timezone!r}: not a time zone, e.g. Europe/Moscow", 2)
    try:
        source = open_export(Path(args.path))
    except ExportError as exc:
        return fail(str(exc), 2)

    async def work(services: Services) -> int:
        bar = progress_bar("importing", in_bytes=True)
        stored_before = await services.posts.count()
        with source:
            try:
                report = await import_export(
                    source, services.posts, services.clock(), MessageReader(zone, username), bar
                )
            except asyncio.CancelledError:
                # Ctrl-C: asyncio.run cancels this task. The batch being written was rolled
                # back; every earlier batch is committed. Say so, and how to go on.
                return await _interrupted(services, stored_before)
            finally:
                if bar is not None:
                    bar.close()
        print(clean(summary(report, zone, username), multiline=True))
        if report.error is not None:
            print(f"framewatch: {clean(report.error)}", file=sys.stderr)
            return 2
        return 0

    return await with_services(settings.db_path, work, settings)


async def _interrupted(services: Services, stored_before: int) -> int:
    stored = await services.posts.count() - stored_before
    print(
        f"framewatch: interrupted: {stored} new posts were stored (committed). Run the same "
        "import again to continue: stored posts are not duplicated.",
        file=sys.stderr,
    )
    return 130


def summary(report: ImportReport, zone: ZoneInfo, username: str | None = None) -> str:
    """What the import did, as the command prints it."""
    from bot.sources.export import PUBLIC_CHAT_TYPES
    from storage.models import StoreOutcome

    o, skipped = report.outcomes, sum(report.skipped.values())
    lines = [
        f"{'Stopped importing' if report.error else 'Imported'} {report.path}: "
        f"{sum(o.values()) + skipped} messages read, "
        f"{len(report.chats)} chat(s) with posts.",
        f"  new {o[StoreOutcome.NEW]}, updated (edited) {o[StoreOutcome.EDITED]}, "
        f"unchanged {o[StoreOutcome.UNCHANGED]}, "
        f"older than the stored version {o[StoreOutcome.STALE]}, skipped {skipped}",
    ]
    lines += [f"  skipped {n}: {reason}" for reason, n in report.skipped.most_common()]
    lines += [f"  ! {problem}" for problem in report.problems]
    if report.local_dates:
        lines.append(
            f"  {report.local_dates} message(s) had dates without a time zone (an export "
            f"from before 2021): read as {zone.key} time; use --timezone to change that"
        )
    for chat_id, (name, kind, count) in report.chats.items():
        lines.append(f"  {kind} {name!r} ({chat_id}): {count} posts")
        if kind in PUBLIC_CHAT_TYPES and username is None:
            lines.append(
                "    the export does not say its username: links are "
                f"https://t.me/c/{internal_channel_id(chat_id)}/ID unless FrameWatch knows it; "
                "import again with --username NAME for t.me/NAME/ID links"
            )
    if o[StoreOutcome.NEW] or o[StoreOutcome.EDITED]:
        lines.append("Run `framewatch scan` (or let the bot's scan job run) to flag framings.")
    return "\n".join(lines)
