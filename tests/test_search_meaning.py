"""Search by meaning: the lemma index (migration 0014, bot/lemma_index.py), its background
build with progress, and bot.search.search_posts with filters. On SQLite and PostgreSQL
(`db` is tests.backends.any_db), except what needs SQLite's migrations or the near-duplicate
index (run_indexing), which is not ported yet."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosqlite
import pytest

from bot.framings import check_new_term
from bot.indexing import run_indexing
from bot.lemma_index import index_queued
from bot.scan import run_scan
from bot.search import backlog, search_posts
from bot.search_query import SearchInputError
from storage.backend import Backend
from storage.db import Database, _migration_files, migrate
from storage.framings import FramingRepository
from storage.lemma_index import LemmaIndexRepository, LemmaProgress
from storage.matches import MatchRepository
from storage.posts import ChannelRepository, PostRepository
from storage.search import SearchRepository
from tests.backends import sqlite_only
from tests.conftest import FakeClock
from tests.counting_db import CountingDatabase
from tests.test_storage import CHANNEL, NOW, OTHER_CHANNEL, post

UTC_ZONE = ZoneInfo("UTC")


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Each test on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


TEXTS = [
    "Преступления киевского режима продолжаются.",  # 1
    "Росія назвала це жестом доброї волі.",  # 2
    "Troop withdrawals were announced.",  # 3
    "Погода сегодня хорошая.",  # 4
]


async def found(db: Backend, query: str, limit: int = 10) -> list[int]:
    result = await search_posts(SearchRepository(db), query, UTC_ZONE, limit)
    return [hit.message_id for hit in result.hits]


async def ids(db: Backend, query: str) -> list[int]:
    return sorted(await found(db, query))


async def store(db: Backend, texts: list[str], **kwargs: object) -> None:
    await PostRepository(db).store_many(
        [
            post(i, text, posted_at=NOW - timedelta(days=i), **kwargs)  # type: ignore[arg-type]
            for i, text in enumerate(texts, 1)
        ],
        NOW,
    )


@sqlite_only  # run_indexing: the near-duplicate index is SQLite's only so far
async def test_stored_posts_are_found_in_every_form_once_the_scan_indexed_them(
    db: Backend,
) -> None:
    await store(db, TEXTS)
    assert await found(db, "киевский режим") == []  # queued: exact forms only for now
    assert await found(db, '"киевского"') == [1]
    await run_scan(FramingRepository(db), MatchRepository(db), FakeClock(NOW))
    assert await found(db, "киевский режим") == []  # the scan flags framings, no more
    report = await run_indexing(db)
    assert report.posts_lemmatised == 4 and not report.lemma_pending
    assert await found(db, "киевский режим") == [1]
    assert await found(db, "жест доброї волі") == [2]
    assert await found(db, "withdrawal") == [3]
    assert await found(db, '"киевский"') == []  # a quoted word keeps its form
    hit = (await search_posts(SearchRepository(db), "киевский режим", UTC_ZONE)).hits[0]
    assert hit.snippet == "Преступления \x02киевского\x03 \x02режима\x03 продолжаются."


async def test_an_edit_drops_the_old_lemmas_at_once_and_indexes_the_new_text(db: Backend) -> None:
    await store(db, TEXTS[:1])
    repo = LemmaIndexRepository(db)
    await index_queued(repo)
    await PostRepository(db).store(post(1, "Новая редакция: жест доброй воли.", posted_at=NOW), NOW)
    assert await found(db, "киевский режим") == []  # not the old text
    assert await found(db, '"жест"') == [1]  # the new one by exact forms meanwhile
    assert await index_queued(repo) == 1
    assert await found(db, "жестом") == [1]
    async with db.atomic() as tx:
        await tx.execute("DELETE FROM posts WHERE id = 1")
    assert await found(db, "жест") == []
    assert await db.fetchval("SELECT count(*) FROM post_lemmas") == 0


async def test_a_database_from_before_0014_is_indexed_in_batches_with_progress(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    conn = await aiosqlite.connect(path, isolation_level=None)
    old = Database(conn, str(path))
    try:
        await migrate(old, [f for f in _migration_files() if f[0] < 14])
        await store(old, TEXTS * 3)  # 12 posts, stored before the migration
        await migrate(old)
    finally:
        await conn.close()
    db = await CountingDatabase.open(path)
    try:
        search, repo = SearchRepository(db), LemmaIndexRepository(db)
        progress = await search.index_progress()
        assert progress is not None and (progress.queued, progress.stored) == (12, 12)
        assert await found(db, "режима") == [1, 5, 9]  # answers meanwhile, by exact forms
        assert await found(db, "режим") == []
        db.calls.clear()
        assert await index_queued(repo, batch=5, max_batches=1) == 5  # newest first: 12..8
        # One read and one write transaction of four statements per batch.
        assert db.calls == {"fetchall": 1, "atomic": 1, "statement in atomic": 4}
        progress = await search.index_progress()
        assert progress is not None and progress.queued == 7
        # Indexed posts by lemma, the queued ones still by exact form: nothing lost.
        assert sorted(await found(db, "режима")) == [1, 5, 9]
        assert await found(db, "режим") == [9]
        assert await index_queued(repo, batch=5) == 7
        assert await search.index_progress() is None
        assert await found(db, "режим") == [1, 5, 9]
    finally:
        await db.close()


def test_results_mention_a_backlog_not_the_last_minutes_posts() -> None:
    assert backlog(None) is None
    assert backlog(LemmaProgress(queued=100, stored=5000)) is None
    assert backlog(LemmaProgress(queued=101, stored=5000)) == LemmaProgress(101, 5000)
    assert backlog(LemmaProgress(queued=10_000, stored=1_000_000)) is None
    assert backlog(LemmaProgress(queued=10_001, stored=1_000_000)) is not None


async def test_filters_narrow_the_search_and_hits_name_their_framings(db: Backend) -> None:
    await store(db, ["Киевский режим опять.", "Про киевский режим снова."])
    await PostRepository(db).store_many(
        [
            post(
                3,
                "Киевского режима нет.",
                chat_id=OTHER_CHANNEL,
                username="watch",
                title="W",
                posted_at=NOW - timedelta(days=10),
            ),
        ],
        NOW,
    )
    await ChannelRepository(db).set_watchdog(OTHER_CHANNEL, True, None, NOW)
    framings = FramingRepository(db)
    term = check_new_term("киевский режим")
    await framings.add_term("kyiv-regime", term.text, term.key, 1, NOW)
    await run_scan(framings, MatchRepository(db), FakeClock(NOW))
    await index_queued(LemmaIndexRepository(db))
    assert await ids(db, "режим") == [1, 2, 3]
    assert await ids(db, "режим channel:@news") == [1, 2]
    assert await ids(db, f"режим channel:{OTHER_CHANNEL}") == [3]
    assert await ids(db, "режим watchdog:no") == [1, 2]
    assert await ids(db, "режим watchdog:only") == [3]
    day = (NOW - timedelta(days=2)).date()
    assert await ids(db, f"режим since:{day}") == [1, 2]
    assert await ids(db, f"режим until:{day}") == [2, 3]
    assert await ids(db, f"режим since:{day} until:{day}") == [2]
    assert await ids(db, "режим framing:kyiv-regime") == [1, 2, 3]
    hits = (await search_posts(SearchRepository(db), "режим", UTC_ZONE)).hits
    assert {h.framings for h in hits} == {("kyiv-regime",)}
    assert await ids(db, "погода framing:kyiv-regime") == []
    with pytest.raises(SearchInputError, match="No stored channel is @nobody"):
        await ids(db, "режим channel:@nobody")
    with pytest.raises(SearchInputError, match="No framing has the slug nope"):
        await ids(db, "режим framing:nope")
    assert CHANNEL != OTHER_CHANNEL


async def test_many_matches_list_the_newest_and_few_are_ranked(db: Backend) -> None:
    await store(db, ["режим " + "слово " * 20] * 5 + ["режимы режима режим"])
    await index_queued(LemmaIndexRepository(db))
    assert await found(db, "режим", limit=3) == [6, 1, 2]  # the densest first, then by date
