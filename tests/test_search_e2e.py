"""/search and `framewatch search` by meaning: through the real PTB application and the fake
Bot API, and the CLI as a real process (--format jsonl/csv, --limit)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from bot.config import Settings
from bot.context import Services
from bot.indexing import run_indexing
from bot.lemma_index import index_queued
from bot.scan import run_scan
from storage.db import open_backend
from storage.lemma_index import LemmaIndexRepository
from tests.backends import cli_env, sqlite_only_because
from tests.cli import run_framewatch
from tests.conftest import ANALYST, FakeClock, Harness
from tests.fake_telegram import channel_post
from tests.test_storage import NOW, post

RUSSIAN = "Преступления киевского режима продолжаются, заявил МИД."
UKRAINIAN = "Кремль назвав відступ жестом доброї волі."


async def test_search_finds_inflected_russian_and_ukrainian_forms_and_says_why(
    harness: Harness,
) -> None:
    await harness.grant_roles()
    await harness.push(channel_post(-1001, 7, RUSSIAN, username="echo"))
    await harness.push(channel_post(-1001, 8, UKRAINIAN, username="echo"))
    await harness.push(channel_post(-1001, 9, "Киев сегодня: погода, режим работы метро."))
    before = (await harness.command(ANALYST, "/search киевский режим"))[0]
    assert "No stored post matches" in before  # not indexed yet: exact forms only
    assert "indexed for" not in before  # 3 posts: the next scan's work, not a backlog
    services = harness.services
    await run_scan(services.framings, services.matches, harness.clock)
    await run_indexing(services.db)  # the scan job's share (handlers/jobs.py)

    reply = (await harness.command(ANALYST, "/search киевский режим"))[0]
    assert "Best 1 posts" in reply and "https://t.me/echo/7" in reply
    assert "<b>киевского</b> <b>режима</b>" in reply
    assert "indexed for" not in reply  # the index is complete
    reply = (await harness.command(ANALYST, "/search жест доброї волі"))[0]
    assert "<b>жестом</b> <b>доброї</b> <b>волі</b>" in reply and "https://t.me/echo/8" in reply
    reply = (await harness.command(ANALYST, '/search "киевский" режим'))[0]
    assert "No stored post matches" in reply  # quoted: that exact form only


async def test_search_filters_and_bad_filters_get_a_clear_reply(harness: Harness) -> None:
    await harness.grant_roles()
    await harness.push(channel_post(-1001, 7, RUSSIAN, username="echo"))
    await run_scan(harness.services.framings, harness.services.matches, harness.clock)
    await run_indexing(harness.db)
    reply = (await harness.command(ANALYST, "/search режим channel:@echo watchdog:no"))[0]
    assert "Best 1 posts" in reply
    for query, says in (
        ("режим since:2024-02-30", "since: takes a date as YYYY-MM-DD"),
        ("режим colour:red", "Unknown filter “colour:”"),
        ("режим channel:@nobody_here", "No stored channel is @nobody_here"),
        ("режим framing:nope", "No framing has the slug nope"),
        ("NEAR(режим", "parenthesis “(” is not closed"),
    ):
        reply = (await harness.command(ANALYST, f"/search {query}"))[0]
        assert "I could not read the search" in reply and says in reply, query
        assert "How to write a search" in reply


async def test_search_says_how_far_a_backlog_is_indexed(harness: Harness) -> None:
    await harness.grant_roles()
    texts = [*(f"Сводка номер {i}." for i in range(150)), RUSSIAN]  # newest: indexed first
    await harness.services.posts.store_many([post(i, t) for i, t in enumerate(texts, 1)], NOW)
    reply = (await harness.command(ANALYST, "/search режима"))[0]
    assert "Best 1 posts" in reply  # found meanwhile by its exact form
    assert "Word forms are indexed for 0 of 151 posts" in reply
    await index_queued(LemmaIndexRepository(harness.db), batch=20, max_batches=1)
    reply = (await harness.command(ANALYST, "/search режим"))[0]
    assert "Best 1 posts" in reply and "Word forms are indexed for 20 of 151 posts" in reply
    await index_queued(LemmaIndexRepository(harness.db), batch=100, max_batches=1)
    reply = (await harness.command(ANALYST, "/search режим"))[0]
    assert "indexed for" not in reply  # 31 left: the next scan's share, not worth a line


async def _stored_and_indexed(tmp_path: Path, target: str) -> None:
    db = await open_backend(target)
    try:
        settings = Settings(_env_file=None, db_path=str(tmp_path / "framewatch.db"))  # type: ignore[call-arg]
        services = Services.create(settings, db, FakeClock())
        await services.posts.store_many(
            [post(i, f"=cmd| жестом доброї волі номер {i}") for i in range(1, 6)], NOW
        )
        await run_scan(services.framings, services.matches, FakeClock())
        await run_indexing(db)
    finally:
        await db.close()


# Five `framewatch search` processes, 10-20 s: on PostgreSQL the same queries are
# tests/test_search_backends.py's, and /search above runs on both.
@sqlite_only_because("5 slow CLI runs; PostgreSQL search is test_search_backends")
async def test_the_cli_writes_jsonl_and_formula_safe_csv_with_a_limit(
    tmp_path: Path, backend_target: str
) -> None:
    await _stored_and_indexed(tmp_path, backend_target)
    env = cli_env(backend_target)
    done = run_framewatch(
        "search", "жест волі", "--format", "jsonl", "--limit", "2", cwd=tmp_path, **env
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 2 and rows[0]["link"].startswith("https://t.me/news/")
    assert "жестом доброї волі" in rows[0]["snippet"] and rows[0]["framings"] == []
    done = run_framewatch("search", "жест", "--format", "csv", cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    table = list(csv.reader(io.StringIO(done.stdout)))
    assert table[0] == ["date", "link", "channel", "watchdog", "framings", "snippet"]
    assert len(table) == 6 and all(row[5].startswith("'=cmd") for row in table[1:])
    done = run_framewatch("search", "жест", cwd=tmp_path, **env)
    assert "[жестом]" in done.stdout and "5 result(s)." in done.stdout
    bad = run_framewatch("search", "жест until:tomorrow", cwd=tmp_path, **env)
    assert bad.returncode == 2 and "until: takes a date as YYYY-MM-DD" in bad.stderr
    bad = run_framewatch("search", "жест", "--format", "xml", cwd=tmp_path, **env)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
