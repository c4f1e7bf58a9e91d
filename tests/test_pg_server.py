"""The throwaway server's own rules: skipped with the reason where none can start, failed
under CI, and the server it starts is a real, writable PostgreSQL in UTF-8."""

from __future__ import annotations

import asyncpg
import pytest

from storage.pg.connect import masked_url
from storage.pg.migrate import migration_files
from tests import pg_server
from tests.conftest import ADMIN, Harness
from tests.pg_server import PgServer


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_no_server_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="no throwaway PostgreSQL: no binaries"):
        pg_server._unavailable("no binaries")


def test_no_server_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must be able to run"):
        pg_server._unavailable("no binaries")


def test_missing_binaries_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(pg_server.glob, "glob", lambda pattern: [])
    with pytest.raises(pg_server.NoServer, match="install the postgresql package"):
        pg_server.find_bin_dir()


async def test_each_test_gets_its_own_utf8_database(pg_server: PgServer, pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SHOW server_encoding") == "UTF8"
        assert await conn.fetchval("SELECT lower('ЁЛКА')") == "ёлка"
        await conn.execute("CREATE TABLE t (x TEXT)")
        assert await conn.fetchval("SHOW fsync") == "off"
    finally:
        await conn.close()
    assert pg_url != pg_server.url() and pg_url.startswith("postgresql://postgres@127.0.0.1:")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://fw:pw@db.example:5432/fw", "postgresql://fw:***@db.example:5432/fw"),
        ("postgresql://fw@db/fw?password=pw&sslmode=require",
         "postgresql://fw@db/fw?password=***&sslmode=require"),
        ("postgresql:///fw?host=/run/pg", "postgresql:///fw?host=/run/pg"),
        ("postgres://a:b:c@h/d", "postgres://a:***@h/d"),
    ],
)  # fmt: skip
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert masked_url(url) == shown


async def test_a_migrated_database_is_a_fresh_copy_of_the_template(
    pg_server: PgServer, pg_template: str, pg_migrated_url: str
) -> None:
    """Every migration applied, nothing a previous test wrote, and its own database: a
    write here does not reach the template the next test is copied from."""
    conn = await asyncpg.connect(pg_migrated_url)
    try:
        applied = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        assert applied == len(migration_files()) > 0
        assert await conn.fetchval("SELECT count(*) FROM posts") == 0
        await conn.execute(
            "INSERT INTO roles (user_id, role, granted_by, granted_at)"
            " VALUES (9, 'analyst', 1, 'x')"
        )
    finally:
        await conn.close()
    template = await asyncpg.connect(pg_server.url(pg_template))
    try:
        assert await template.fetchval("SELECT count(*) FROM roles") == 0
    finally:
        await template.close()  # a session left on the template would stop the next copy


async def test_the_harness_runs_on_the_backend_it_was_given(
    harness: Harness, backend_target: str
) -> None:
    """The same application, opened as `framewatch run` opens it: a PostgreSQL URL sets
    FRAMEWATCH_DATABASE_URL, a path the SQLite file."""
    on_postgres = backend_target.startswith("postgresql://")
    assert harness.is_sqlite is not on_postgres
    assert (harness.services.settings.database_url is not None) is on_postgres
    assert bool(harness.database_env()) is on_postgres
    assert await harness.command(ADMIN, "/start")
