"""The main job on PostgreSQL gives what it gives on SQLite: the demo's framings and posts,
one scan, the indexes, and the digest of the last 24 hours (with its trends and spread)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.context import Services
from bot.demo import run_demo
from storage.db import open_backend

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def _demo(target: str) -> tuple[int, int, int, list[str]]:
    db = await open_backend(target)
    try:
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        result = await run_demo(Services.create(settings, db, lambda: NOW))
    finally:
        await db.close()
    return result.posts, result.new_matches, result.flagged_posts, result.messages


async def test_the_demo_digest_is_the_same_on_both_databases(pg_url: str, tmp_path: Path) -> None:
    on_sqlite = await _demo(str(tmp_path / "demo.db"))
    on_postgres = await _demo(pg_url)

    posts, matches, flagged, messages = on_postgres
    assert posts > 0 and matches > 0 and flagged > 0
    assert messages and all("t.me/" in m for m in messages[:1])
    assert on_postgres == on_sqlite
