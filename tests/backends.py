"""Both databases for the repositories ported to storage.backend (issue 12).

`any_db` is a fresh, migrated database, once on SQLite (a temp file) and once on PostgreSQL
(the throwaway server of tests/pg_server.py, a database of its own, copied from a template
migrated once per session), opened through storage.db.open_backend as an application would.
A test module switches its tests to both by `from tests.backends import any_db as db` (its
`db` fixture then runs each test twice); a test that looks at something only SQLite has
(sqlite_master, PRAGMAs, FTS5, the legacy transaction()) is marked `@sqlite_only` (its `db`
is then SQLite's alone), or asks for `sqlite_db`. The bot-level `harness` (tests/conftest.py)
runs on `backend_target` too, so `@sqlite_only` works there the same way;
`sqlite_only_because(reason)` says why.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.backend import Backend
from storage.db import Database, open_backend, open_database

BACKENDS = ["sqlite", "postgresql"]

# A test's own parametrisation of a fixture overrides the fixture's params: this test's
# any_db is SQLite's alone.
sqlite_only = pytest.mark.parametrize("backend_target", ["sqlite"], indirect=True)


def sqlite_only_because(reason: str) -> pytest.MarkDecorator:
    """`sqlite_only` with the reason in the test's id (`[sqlite-only: reason]`), for a test
    that looks at what only SQLite has (its file, WAL, the file lock, sqlite3 itself)."""
    return pytest.mark.parametrize(
        "backend_target",
        [pytest.param("sqlite", id=f"sqlite-only: {reason}")],
        indirect=True,
    )


@pytest.fixture(params=BACKENDS)
def backend_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite path or the URL of a new, migrated PostgreSQL database. Sync, so that it may
    ask for the async pg_migrated_url only when it is needed (an async fixture cannot)."""
    if request.param == "sqlite":
        return str(tmp_path / "framewatch.db")
    assert request.param == "postgresql", (
        f"backend_target is sqlite or postgresql, not {request.param!r}"
    )
    url: str = request.getfixturevalue("pg_migrated_url")  # a copy of the migrated template
    return url


@pytest.fixture
async def any_db(backend_target: str) -> AsyncIterator[Backend]:
    database = await open_backend(backend_target)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """SQLite only: for what only SQLite has."""
    database = await open_database(tmp_path / "framewatch.db")
    try:
        yield database
    finally:
        await database.close()


def cli_env(target: str) -> dict[str, str]:
    """What a `framewatch` subprocess (tests/cli.py, run in the test's tmp_path, whose
    framewatch.db is `backend_target`'s SQLite file) needs to open `target` instead:
    FRAMEWATCH_DATABASE_URL for a PostgreSQL URL, nothing for the SQLite file."""
    return {"FRAMEWATCH_DATABASE_URL": target} if target.startswith("postgresql://") else {}


def is_sqlite(db: Backend) -> bool:
    return db.dialect.is_sqlite
