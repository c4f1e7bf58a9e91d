"""`framewatch worker`: share scans, web-preview polls and digest fan-out (PostgreSQL)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.commands.common import Subparsers, fail

if TYPE_CHECKING:
    from bot.config import Settings


def add_to(sub: Subparsers) -> None:
    sub.add_parser(
        "worker",
        help="share the heavy work of `run` on PostgreSQL (needs FRAMEWATCH_DATABASE_URL)",
        description="Claim and do scans, web-preview polls and digest deliveries beside "
        "`framewatch run` instances on one PostgreSQL database, until SIGTERM or Ctrl-C.",
    ).set_defaults(handler=_worker)


async def _worker(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.on_postgres:
        return fail(
            "worker shares work through PostgreSQL: set FRAMEWATCH_DATABASE_URL "
            "(on SQLite `framewatch run` does all the work itself)",
            2,
        )
    from bot.worker import run_worker

    await run_worker(settings)
    return 0
