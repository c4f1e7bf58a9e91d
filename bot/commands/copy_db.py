"""`framewatch copy-db --to URL`: copy the whole database between SQLite and PostgreSQL.

Source: --from URL, else the configured SQLite file (FRAMEWATCH_DB_PATH). URLs are
postgresql://user:password@host:port/name or sqlite:PATH. Passwords never appear in the
output: URLs are shown masked, and any message is redacted.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from bot.commands.common import Subparsers, fail

if TYPE_CHECKING:
    from bot.config import Settings

DESCRIPTION = (
    "Copy every table of a FrameWatch database into a new, empty one: SQLite to PostgreSQL "
    "or back. Ids, post versions, matches, verdicts, subscribers, deliveries, roles, the "
    "audit log, the near-duplicate and lemma indexes and the work queues are copied as "
    "they are, in bulk, in one transaction on the target (a failure leaves it empty); a "
    "target that holds data is refused. Rebuilt on the target instead of copied: the "
    "full-text index of posts (SQLite's posts_fts, PostgreSQL's posts.search_tsv)."
)


@dataclass(frozen=True)
class Location:
    kind: Literal["sqlite", "postgresql"]
    where: str  # a file path or a postgresql:// URL

    @property
    def shown(self) -> str:
        from storage.pg.connect import masked_url

        return f"sqlite:{self.where}" if self.kind == "sqlite" else masked_url(self.where)

    @property
    def password(self) -> str | None:
        return urlsplit(self.where).password if self.kind == "postgresql" else None


def parse_location(text: str) -> Location:
    """postgresql://... (or postgres://...) or sqlite:PATH; else ValueError saying so."""
    from storage.pg.connect import masked_url

    if text.startswith(("postgresql://", "postgres://")):
        try:
            urlsplit(text).port  # noqa: B018 (reading it checks the port is a number)
        except ValueError:
            raise ValueError(f"{masked_url(text)}: not a readable PostgreSQL URL") from None
        return Location("postgresql", text)
    if text.startswith("sqlite:"):
        path = text.removeprefix("sqlite:")
        path = path[2:] if path.startswith("//") else path  # sqlite:///abs/path
        if not path:
            raise ValueError("sqlite: needs a file path, e.g. sqlite:framewatch.db")
        return Location("sqlite", path)
    raise ValueError(
        f"{masked_url(text) if '://' in text else text!r} is not a database URL: write "
        "postgresql://user:password@host:5432/name or sqlite:PATH"
    )


def add_to(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "copy-db",
        help="copy the whole database to PostgreSQL or SQLite (into an empty one)",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "--to", required=True, metavar="URL", help="postgresql://user:pw@host/name or sqlite:PATH"
    )
    parser.add_argument(
        "--from",
        dest="source",
        metavar="URL",
        help="where to copy from (default: the SQLite file FRAMEWATCH_DB_PATH)",
    )
    parser.set_defaults(handler=_copy_db)


async def _copy_db(settings: Settings, args: argparse.Namespace) -> int:
    import sqlite3

    import asyncpg

    from bot.logs import redact
    from storage.errors import describe
    from storage.pg.connect import PgConnectError
    from storage.pg.copy import CopyError, CopyRefused
    from storage.pg.copy_tables import NOT_COPIED, TRIGGER_FED

    try:
        target = parse_location(args.to)
        default = Location("sqlite", settings.db_path)
        source = parse_location(args.source) if args.source else default
    except ValueError as exc:
        return fail(f"copy-db: {exc}", 2)
    secrets = [p for p in (source.password, target.password) if p]
    if source.kind == target.kind:
        return fail(
            f"copy-db copies between SQLite and PostgreSQL; for {source.kind} to {source.kind} "
            "use its own tools (sqlite3 .backup, pg_dump)",
            2,
        )
    try:
        counts = await _copy(source, target)
    except (CopyRefused, PgConnectError) as exc:
        return fail(redact(f"copy-db: {exc}", secrets), 2)
    except CopyError as exc:
        return fail(
            redact(f"copy-db failed: {exc}; nothing was kept on {target.shown}", secrets), 1
        )
    except (asyncpg.PostgresError, asyncpg.InterfaceError, sqlite3.Error) as exc:
        # Told apart by its code (storage/errors.py); the driver says which side failed.
        side = target if (target.kind == "sqlite") == isinstance(exc, sqlite3.Error) else source
        line = describe(exc, side.shown)
        return fail(
            redact(f"copy-db failed: {line}; nothing was kept on {target.shown}", secrets), 1
        )
    except OSError as exc:
        return fail(
            redact(f"copy-db failed: {exc}; nothing was kept on {target.shown}", secrets), 1
        )
    print(f"Copied {source.shown} to {target.shown}:")
    for table, rows in counts.items():
        note = " (as kept by triggers in the source)" if table in TRIGGER_FED else ""
        print(f"  {table:<22} {rows:>12,}{note}")
    print(f"{len(counts)} tables, {sum(counts.values()):,} rows.")
    print("Not copied:")
    for table, why in NOT_COPIED.items():
        print(f"  {table}: {why}")
    return 0


async def _copy(source: Location, target: Location) -> dict[str, int]:
    from bot.progress import StageBars
    from storage.pg.copy import copy_database
    from storage.pg.copy_pg import PgSource, PgTarget
    from storage.pg.copy_sqlite import SqliteSource, SqliteTarget

    reader = SqliteSource(source.where) if source.kind == "sqlite" else PgSource(source.where)
    writer = SqliteTarget(target.where) if target.kind == "sqlite" else PgTarget(target.where)
    bars = StageBars()
    try:
        return await copy_database(reader, writer, bars)
    finally:
        bars.close()
        try:
            await reader.close()
        finally:
            await writer.close()
