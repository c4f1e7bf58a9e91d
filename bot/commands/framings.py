"""`framewatch framings import|export|list`: framing packs (TOML) and the framings stored."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.commands.common import fail, with_services
from bot.outfile import OutputError, atomic_text_file
from bot.terminal import clean

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.context import Services
    from storage.matches import RescanProgress
    from storage.packs import FramingImport, PackImport

KEPT_SHOWN = 5


def add_to(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    framings = sub.add_parser(
        "framings",
        help="import, export or list framings (TOML packs)",
        description="Framing packs: TOML files of [[framing]] tables with slug, title, "
        "description and terms = [...].",
    )
    actions = framings.add_subparsers(dest="framings_command", required=True, metavar="ACTION")
    importer = actions.add_parser(
        "import",
        help="add or update the framings of a pack",
        description="Add the pack's new framings and terms, update titles and descriptions. "
        "Terms a framing has and the pack does not list are kept. The whole pack is checked "
        "first: a pack with any problem imports nothing.",
    )
    importer.add_argument("pack", type=Path, help="the TOML file, e.g. bot/packs/default.toml")
    importer.set_defaults(handler=_import)
    exporter = actions.add_parser(
        "export",
        help="write every framing to a pack",
        description="Write every framing with its title, description and terms to a TOML "
        "pack that `framewatch framings import` reads back unchanged ('-' for stdout).",
    )
    exporter.add_argument("pack", help="the TOML file to write (replaced if it exists)")
    exporter.set_defaults(handler=_export)
    lister = actions.add_parser(
        "list",
        help="framings with term and post counts",
        description="Every framing: terms, posts matched, and rescan progress of new terms.",
    )
    lister.set_defaults(handler=_list)


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.framings import PackError, import_pack
    from storage.rule_changes import TermLimitError

    async def work(services: Services) -> int:
        try:
            result = await import_pack(services.framings, args.pack, None, services.clock())
        except PackError as exc:
            return fail(str(exc), 2)
        except TermLimitError as exc:
            return fail(f"{args.pack}: {exc}; nothing was imported", 2)
        print(clean("\n".join(describe_import(args.pack.name, result)), multiline=True))
        return 0

    return await with_services(settings.db_path, work, settings)


def describe_import(name: str, result: PackImport) -> list[str]:
    version = f" (rules version {result.version})" if result.version else ""
    changed = sum(f.changed for f in result.framings)
    lines = [f"Imported {name}: {changed} of {len(result.framings)} framings changed{version}."]
    lines += [f"  {_describe_framing(f)}" for f in result.framings]
    if any(f.kept for f in result.framings):
        lines.append(
            "Terms a framing has and the pack does not list are kept; remove them with /unwatch."
        )
    if result.version:
        lines.append("The bot applies the new terms to the stored posts at its next scan.")
    return lines


def _describe_framing(f: FramingImport) -> str:
    parts = ["new framing"] if f.created else []
    parts += ["title updated"] if f.title_changed else []
    parts += ["description updated"] if f.description_changed else []
    parts += [f"{len(f.added)} terms added"] if f.added else []
    parts += [f"{f.already} terms already there"] if f.already else []
    if f.kept:
        shown = ", ".join(f"“{t}”" for t in f.kept[:KEPT_SHOWN])
        more = f" and {len(f.kept) - KEPT_SHOWN} more" if len(f.kept) > KEPT_SHOWN else ""
        parts.append(f"{len(f.kept)} terms not in the pack kept: {shown}{more}")
    if not f.changed:
        return f"{f.slug}: unchanged ({', '.join(parts) or 'no terms'})"
    return f"{f.slug}: {', '.join(parts)}"


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.framings import write_pack

    async def work(services: Services) -> int:
        framings = await services.framings.export_pack()
        version = await services.framings.rules_version()
        header = (
            f"FrameWatch framings, exported {services.clock():%Y-%m-%d %H:%M} UTC "
            f"at rules version {version}.\n"
            "Import with: framewatch framings import FILE"
        )
        text = write_pack(framings, header)
        terms = sum(len(f.terms) for f in framings)
        if args.pack == "-":
            sys.stdout.write(text)
            return 0
        error = _write_atomically(Path(args.pack), text)
        if error:
            return fail(error, 2)
        print(clean(f"Exported {len(framings)} framings with {terms} terms to {args.pack}."))
        return 0

    return await with_services(settings.db_path, work, settings)


def _write_atomically(path: Path, text: str) -> str | None:
    """Write beside the target, then rename: an interrupted export leaves the old file.
    The reason it could not, or None."""
    try:
        with atomic_text_file(path) as file:
            file.write(text)
    except OutputError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror or exc}"
    return None


async def _list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.scan import rescan_percent

    async def work(services: Services) -> int:
        stats = await services.framings.list_with_stats()
        progress = await services.matches.rescan_progress()
        names = await services.framings.names()
        by_slug: dict[str, RescanProgress] = {
            names[i][0]: p for i, p in progress.items() if i in names
        }
        version = await services.framings.rules_version()
        print(f"{len(stats)} framings · rules version {version}")
        for f in stats:
            rescan = (
                f" · rescanning: {rescan_percent(by_slug[f.slug])}%" if f.slug in by_slug else ""
            )
            print(
                f"  {f.slug:28} {len(f.terms):4} terms {f.post_count:6} posts matched"
                f"{rescan} · {clean(f.title)}"
            )
        return 0

    return await with_services(settings.db_path, work, settings)
