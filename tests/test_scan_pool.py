"""bot/scan_pool.py: a large backlog matched in worker processes gives the scan's own result."""

from __future__ import annotations

from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import indexing
from bot import scan as scan_module
from bot.framings import check_new_term
from bot.indexing import run_indexing
from bot.scan import run_scan
from bot.scan_pool import MAX_WORKERS, MatchPool, process_pool, worker_count
from storage.db import Database, open_database
from storage.framings import FramingRepository
from storage.matches import MatchRepository
from storage.models import IncomingPost
from storage.posts import PostRepository

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TEXTS = (
    "Отвод войск стал жестом доброй воли, заявили в министерстве.",
    "Вчерашний жест доброй воли обсуждают все каналы.",
    "Організований відхід військ назвали маневром.",
    "Nothing to see here, only the weather and a gesture of goodwill.",
    "Погода в Киеве: дождь, ветер, без новостей.",
)
TERMS = ("жест доброй воли", "организованный отход", "gesture of goodwill", "маневр")


async def _database(path: Path, posts: int) -> Database:
    db = await open_database(path)
    framings = FramingRepository(db)
    for i, text in enumerate(TERMS):
        term = check_new_term(text)
        assert (await framings.add_term(f"framing-{i % 2}", term.text, term.key, 1, NOW)).term_added
    await PostRepository(db).store_many(
        [
            IncomingPost(
                chat_id=-1001000000000 - i % 3,
                message_id=i + 1,
                posted_at=NOW - timedelta(minutes=i),
                text=f"{TEXTS[i % len(TEXTS)]} №{i}",
                channel_title="News",
                channel_username=f"news{i % 3}",
            )
            for i in range(posts)
        ],
        NOW,
    )
    return db


async def _matches(db: Database) -> list[tuple[int, ...]]:
    rows = await db.fetchall(
        "SELECT post_id, term_id, framing_id, start_pos, end_pos FROM matches ORDER BY 1, 2"
    )
    return [tuple(r) for r in rows]


async def test_worker_processes_find_what_the_scan_finds_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small backlog counts as large here, in batches of 40: several batches in flight.
    monkeypatch.setattr(scan_module, "MIN_BACKLOG", 100)
    monkeypatch.setattr(scan_module, "POOL_BATCH", 40)
    pools: list[MatchPool] = []

    class CountedPool(MatchPool):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            pools.append(self)

    monkeypatch.setattr(scan_module, "MatchPool", CountedPool)
    results = []
    for workers in (1, 2):
        db = await _database(tmp_path / f"w{workers}.db", 300)
        try:
            report = await run_scan(
                FramingRepository(db), MatchRepository(db), lambda: NOW, workers=workers
            )
            assert report.posts_scanned == 300
            assert await db.fetchval("SELECT count(*) FROM post_scan WHERE needs_scan = 1") == 0
            results.append((await _matches(db), sorted(report.new_matches, key=str)))
        finally:
            await db.close()
    in_process, in_workers = results
    assert in_workers == in_process
    assert len(in_process[0]) == 240  # one match in each post but the weather's
    # «маневром» is a form of «маневр»; the Russian «организованный отход» is not Ukrainian.
    assert {row[1] for row in in_process[0]} == {1, 3, 4}
    assert len(pools) == 1 and pools[0].workers == 2


async def test_a_small_backlog_is_matched_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []
    monkeypatch.setattr(scan_module, "MatchPool", lambda *args: started.append(1))
    db = await _database(tmp_path / "small.db", 50)
    try:
        report = await run_scan(FramingRepository(db), MatchRepository(db), lambda: NOW, workers=4)
    finally:
        await db.close()
    assert report.posts_scanned == 50 and started == []


def test_worker_count_reads_the_setting() -> None:
    assert worker_count(3) == 3
    assert worker_count(1000) == MAX_WORKERS
    assert 1 <= worker_count(0) <= MAX_WORKERS  # one per core


async def test_when_the_workers_fail_the_scan_matches_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(scan_module, "MIN_BACKLOG", 100)

    class FailingPool(MatchPool):
        """Workers that cannot open their database: the pool breaks at the first batch."""

        def __init__(self, db_path: str, *rest: Any) -> None:
            super().__init__(str(tmp_path / "missing" / "fw.db"), *rest)

    monkeypatch.setattr(scan_module, "MatchPool", FailingPool)
    db = await _database(tmp_path / "fw.db", 200)
    try:
        report = await run_scan(FramingRepository(db), MatchRepository(db), lambda: NOW, workers=2)
        assert report.posts_scanned == 200 and len(report.new_matches) == 160
        assert len(await _matches(db)) == 160
    finally:
        await db.close()
    assert "scan worker processes failed" in caplog.text


async def test_lemmas_made_in_worker_processes_are_the_ones_made_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexing, "MIN_LEMMA_BACKLOG", 50)
    monkeypatch.setattr(indexing, "LEMMA_POOL_BATCH", 7)  # many batches in flight
    started: list[int] = []

    def counted_pool(workers: int) -> Executor:
        started.append(workers)
        return process_pool(workers)

    monkeypatch.setattr(indexing, "process_pool", counted_pool)
    tables = []
    for workers in (1, 2):
        db = await _database(tmp_path / f"lemmas{workers}.db", 120)
        try:
            report = await run_indexing(db, workers=workers)
            assert report.posts_lemmatised == 120 and not report.lemma_pending
            rows = await db.fetchall("SELECT rowid, forms, lemmas FROM post_lemmas ORDER BY rowid")
            tables.append([tuple(r) for r in rows])
        finally:
            await db.close()
    assert started == [2]  # the second run lemmatised in two worker processes
    assert len(tables[0]) == 120 and tables[1] == tables[0]
    assert any("жест" in lemmas for _, _, lemmas in tables[0])
