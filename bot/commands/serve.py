"""`framewatch serve`: the browser view (Datasette) of the database, read-only."""

from __future__ import annotations

import argparse
import errno
from typing import TYPE_CHECKING

from bot.commands.common import Subparsers, fail

if TYPE_CHECKING:
    from bot.config import Settings


def add_to(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "serve",
        help="browse the database in a web browser (Datasette, read-only)",
        description="Serve a read-only Datasette view of FRAMEWATCH_DB_PATH: posts with t.me "
        "links, full-text search, stored queries and a dashboard at /-/dashboard. With "
        "FRAMEWATCH_SERVE_TOKEN set every page needs the token; without it, tables holding "
        "Telegram user ids are hidden and arbitrary SQL is off.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=_port, default=8001, help="port (default 8001; 0: any free)")
    parser.set_defaults(handler=_serve)


def _port(text: str) -> int:
    value = text.strip()
    if not value.isascii() or not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: write a number 0-65535")
    return int(value)


async def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.serve import serve  # Datasette: only for this command

    if settings.on_postgres:
        return fail(
            "the browser view reads a SQLite file; with PostgreSQL use Metabase/Superset/"
            "Grafana on the database (or unset FRAMEWATCH_DATABASE_URL to serve "
            "FRAMEWATCH_DB_PATH)",
            2,
        )
    try:
        return await serve(settings, args.host, args.port)
    except FileNotFoundError:
        return fail(
            f"no database at {settings.db_path}: run the bot (framewatch run) or "
            "`framewatch demo` first, or set FRAMEWATCH_DB_PATH",
            2,
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return fail(f"port {args.port} on {args.host} is in use: choose another with --port", 1)
        return fail(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc})", 1)
