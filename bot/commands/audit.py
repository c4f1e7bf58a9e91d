"""`framewatch audit`: the newest entries of the audit log (who changed what, when)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.audit_text import DEFAULT_SHOWN, MAX_SHOWN, audit_head
from bot.commands.common import Subparsers, count_argument, fail, with_services
from bot.terminal import clean

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.context import Services


def add_to(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "audit",
        help="who changed what, when (the audit log, newest first)",
        description="Print the newest entries of the audit log: role grants, term and "
        "framing changes, approvals, follows.",
    )
    parser.add_argument(
        "--limit",
        type=count_argument,
        default=DEFAULT_SHOWN,
        help=f"how many entries (default {DEFAULT_SHOWN}, at most {MAX_SHOWN})",
    )
    parser.set_defaults(handler=_audit)


async def _audit(settings: Settings, args: argparse.Namespace) -> int:
    from storage import audit

    if not 1 <= args.limit <= MAX_SHOWN:
        return fail(f"--limit: give 1 to {MAX_SHOWN}", 2)

    async def work(services: Services) -> int:
        entries = await audit.recent(services.db, args.limit)
        for entry in entries:
            print(f"{audit_head(entry, settings.zone)} · {clean(entry.detail)}")
        print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}.")
        return 0

    return await with_services(settings.db_path, work, settings, read_only=True)
