"""Shared fixtures: a fake Telegram server, a real SQLite file, and the real application."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

# PTB 22 warns on reading RetryAfter.retry_after unless this opts in to timedelta values;
# with warnings as errors the warning would replace the exception under test.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.app import build_application
from bot.config import Settings
from bot.context import Services
from bot.database import is_postgres_url, open_db
from bot.inbox import DurablePoller
from handlers import ALLOWED_UPDATES
from storage.backend import Backend
from storage.db import Database, open_database
from tests.backends import cli_env
from tests.fake_telegram import FakeTelegram, private_message

TOKEN = "123456:TEST-token-that-must-never-leak"
ADMIN = 1
MODERATOR = 2
ANALYST = 3
STRANGER = 4
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass
class FakeClock:
    """The injected clock: tests move time by setting `now`."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


def make_settings(
    tmp_path: Path, base_url: str, target: str | None = None, **overrides: Any
) -> Settings:
    """The tests' settings; `target` a PostgreSQL URL (from `backend_target`) sets
    FRAMEWATCH_DATABASE_URL, anything else leaves the SQLite file in tmp_path."""
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "api_base_url": base_url,
        "db_path": str(tmp_path / "framewatch.db"),
        "admin_ids": frozenset({ADMIN}),
        "timezone": "Europe/Kyiv",
    }
    if target is not None and is_postgres_url(target):
        values["database_url"] = target
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Harness:
    """The real application wired to the fake server; updates are polled on demand."""

    tg: FakeTelegram
    services: Services
    app: Any
    poller: DurablePoller
    clock: FakeClock
    offset: int | None = None

    @property
    def db(self) -> Backend:
        return self.services.db

    @property
    def is_sqlite(self) -> bool:
        return self.services.db.dialect.is_sqlite

    def database_env(self) -> dict[str, str]:
        """What a `framewatch` subprocess needs to open this database besides
        FRAMEWATCH_DB_PATH: FRAMEWATCH_DATABASE_URL on PostgreSQL, nothing on SQLite."""
        url = self.services.settings.database_url
        return {} if url is None else cli_env(url.get_secret_value())

    async def poll(self) -> None:
        self.offset = await self.poller.fetch_once(self.offset)

    async def push(self, payload: dict[str, Any]) -> None:
        self.tg.push_update(payload)
        await self.poll()

    async def command(self, user_id: int, text: str) -> list[str]:
        """Send `text` from `user_id` in a private chat; return the bot's replies to it."""
        before = len(self.tg.sent_to(user_id))
        await self.push(private_message(user_id, text))
        return [m.text for m in self.tg.sent_to(user_id)[before:]]

    async def grant_roles(self) -> None:
        assert await self.command(ADMIN, f"/grant {MODERATOR} moderator")
        assert await self.command(ADMIN, f"/grant {ANALYST} analyst")


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


DB_FILE = "framewatch.db"  # the `db` fixture's file in tmp_path


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh SQLite file with every migration applied."""
    database = await open_database(tmp_path / DB_FILE)
    try:
        yield database
    finally:
        await database.close()


@asynccontextmanager
async def running_harness(
    settings: Settings, tg: FakeTelegram, clock: FakeClock
) -> AsyncIterator[Harness]:
    """The real application on the database `settings` name (a PostgreSQL URL or the
    SQLite file), as `framewatch run` opens it."""
    db = await open_db(settings.database())
    services = Services.create(settings, db, clock)
    app = build_application(settings, services)
    try:
        # Initialised but not started: the JobQueue's timers stay off and tests run
        # job callbacks themselves, at the time the injected clock says.
        async with app:
            poller = DurablePoller(app, services, ALLOWED_UPDATES, poll_timeout=0)
            yield Harness(tg, services, app, poller, clock)
    finally:
        await services.close()  # the application's t.me client, if a poll opened it
        await db.close()


@pytest.fixture
async def harness(
    tmp_path: Path,
    tg: FakeTelegram,
    clock: FakeClock,
    backend_target: str,  # noqa: F811 (the fixture imported below)
) -> AsyncIterator[Harness]:
    """The application on each backend (`backend_target`: SQLite, then PostgreSQL)."""
    async with running_harness(
        make_settings(tmp_path, tg.base_url, backend_target), tg, clock
    ) as h:
        yield h


# The throwaway PostgreSQL server and a database per test (tests/pg_server.py), and both
# databases for the repositories ported to storage.backend (tests/backends.py).
from tests.backends import any_db, backend_target, sqlite_db  # noqa: E402, F401
from tests.pg_server import pg_migrated_url, pg_server, pg_template, pg_url  # noqa: E402, F401
