"""`framewatch inbox list|show|retry|drop`: updates set aside after failing repeatedly."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.commands.common import fail, with_services
from bot.quarantine import SELECTION_HELP, SelectionError, line, parse_selection

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.context import Services

LISTED = 200


def add_to(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    inbox = sub.add_parser(
        "inbox",
        help="updates set aside after failing repeatedly (list, show, retry, drop)",
        description="Updates that failed to parse or be handled 3 times are set aside "
        "(quarantined) so the bot keeps going. Nothing leaves the quarantine without an admin: "
        "retry puts an update back in the queue (a running bot picks it up), drop gives it up.",
    )
    actions = inbox.add_subparsers(dest="inbox_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="quarantined updates, newest first").set_defaults(handler=_list)
    show = actions.add_parser("show", help="print one quarantined update's raw JSON")
    show.add_argument("id", type=int, help="update id from the list")
    show.set_defaults(handler=_show)
    for name, summary in (("retry", "queue again"), ("drop", "give up")):
        action = actions.add_parser(name, help=f"{summary}: {SELECTION_HELP} (--all)")
        action.add_argument("ids", nargs="*", help="update ids from the list")
        action.add_argument("--all", action="store_true", help="every quarantined update")
        action.set_defaults(handler=_resolve)


async def _list(settings: Settings, args: argparse.Namespace) -> int:

    async def work(services: Services) -> int:
        counts = await services.inbox.counts()
        print(f"{counts.pending} update(s) waiting, {counts.quarantined} quarantined.")
        for update in await services.inbox.quarantined(limit=LISTED):
            print("  " + line(update, settings.zone))
        if counts.quarantined:
            print("framewatch inbox show ID | retry ID...|--all | drop ID...|--all")
        return 0

    return await with_services(settings.db_path, work, settings)


async def _show(settings: Settings, args: argparse.Namespace) -> int:

    async def work(services: Services) -> int:
        for update in await services.inbox.quarantined(limit=None):
            if update.update_id == args.id:
                print(update.payload)
                return 0
        return fail(f"no quarantined update {args.id}; `framewatch inbox list` lists them", 2)

    return await with_services(settings.db_path, work, settings)


async def _resolve(settings: Settings, args: argparse.Namespace) -> int:

    if args.all and args.ids:
        return fail("give update ids or --all, not both", 2)
    try:
        ids = None if args.all else parse_selection(args.ids)
    except SelectionError as exc:
        return fail(str(exc), 2)

    async def work(services: Services) -> int:
        act = services.inbox.retry if args.inbox_command == "retry" else services.inbox.drop
        done = await act(ids, None, services.clock())
        if not done:
            return fail("no such quarantined update; nothing changed. `framewatch inbox list`", 2)
        verb = "queued again" if args.inbox_command == "retry" else "dropped"
        print(f"{done} update(s) {verb}.")
        return 0

    return await with_services(settings.db_path, work, settings)
