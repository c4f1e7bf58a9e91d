"""Bulk paths: a batch of posts or matches is written in one round trip, with the guards of
writing them one by one (edited-meanwhile posts skipped, stale terms ignored, INSERT OR
IGNORE), and `framewatch scan` prints a summary per framing."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.indexing import run_indexing
from bot.scan import ScanReport, run_scan
from bot.scan_report import count_by_framing, format_scan
from storage.backend import Backend
from storage.db import Database, open_database
from storage.framings import FramingRepository
from storage.matches import MatchRepository, RescanProgress
from storage.models import FlaggedPost, IncomingPost, MatchRow, PostToScan
from storage.posts import PostRepository
from tests.cli import run_framewatch
from tests.counting_db import CountingDatabase

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CHANNEL = -1001234567890


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Every test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


def post(message_id: int, text: str, edited_at: datetime | None = None) -> IncomingPost:
    return IncomingPost(
        chat_id=CHANNEL,
        message_id=message_id,
        posted_at=NOW - timedelta(minutes=message_id),
        text=text,
        channel_title="News",
        channel_username="news",
        edited_at=edited_at,
    )


@pytest.fixture
async def counting(tmp_path: Path) -> AsyncIterator[CountingDatabase]:
    db = await CountingDatabase.open(tmp_path / "counted.db")
    yield db
    await db.close()


async def add_term(db: Database, slug: str, text: str) -> MatchRow:
    """A term; returns a MatchRow template (post 0, span 0..1) with its ids."""
    framings = FramingRepository(db)
    assert (await framings.add_term(slug, text, text, None, NOW)).term_added
    term = max(await framings.all_terms(), key=lambda t: t.term_id)
    return MatchRow(0, term.term_id, term.framing_id, 0, 1)


def at(template: MatchRow, post_id: int, start: int = 0) -> MatchRow:
    return MatchRow(post_id, template.term_id, template.framing_id, start, start + 1)


async def test_post_edited_while_its_batch_was_matched_is_skipped(db: Database) -> None:
    posts, matches = PostRepository(db), MatchRepository(db)
    term = await add_term(db, "feint", "feint")
    a, b, c = await posts.store_many([post(i, f"{i}: a feint") for i in (1, 2, 3)], NOW)
    read = await matches.posts_needing_scan(10)
    await posts.store(post(2, "2: edited meanwhile", NOW + timedelta(hours=1)), NOW)

    found = [at(term, p.post_id) for p in read]
    new = await matches.replace_for_posts(read, found, NOW, rules_version=1)

    assert [m.post_id for m in new] == [a.post_id, c.post_id]
    rows = await db.fetchall("SELECT post_id FROM matches ORDER BY post_id")
    assert [r[0] for r in rows] == [a.post_id, c.post_id]
    assert await matches.posts_needing_scan(10) == [PostToScan(b.post_id, "2: edited meanwhile", 1)]


async def test_match_of_a_term_newer_than_the_matcher_is_not_stored(db: Database) -> None:
    posts, matches = PostRepository(db), MatchRepository(db)
    old = await add_term(db, "feint", "feint")  # rules version 1
    newer = await add_term(db, "gesture", "gesture")  # version 2: the matcher predates it
    [stored] = await posts.store_many([post(1, "a feint and a gesture")], NOW)
    scanned = [PostToScan(stored.post_id, "a feint and a gesture")]

    found = [at(old, stored.post_id), at(newer, stored.post_id)]
    new = await matches.replace_for_posts(scanned, found, NOW, rules_version=1)
    assert new == [at(old, stored.post_id)]

    rescan = await matches.add_rescan_batch(
        [at(newer, stored.post_id)], [newer.term_id], stored.post_id, True, NOW, rules_version=1
    )
    assert rescan == []
    assert await matches.count() == 1
    assert [t.term_id for t in await matches.pending_terms()] == [old.term_id, newer.term_id]


async def test_first_match_of_each_post_and_term_is_kept(db: Database) -> None:
    """INSERT OR IGNORE semantics: a second match of the same term in a post is dropped,
    and a rescan does not report a match already stored."""
    posts, matches = PostRepository(db), MatchRepository(db)
    term = await add_term(db, "feint", "feint")
    [stored] = await posts.store_many([post(1, "feint, feint")], NOW)
    scanned = [PostToScan(stored.post_id, "feint, feint")]

    first, second = at(term, stored.post_id, 0), at(term, stored.post_id, 7)
    assert await matches.replace_for_posts(scanned, [first, second], NOW, 1) == [first]
    assert await matches.add_rescan_batch([second], [term.term_id], 9, True, NOW, 1) == []
    row = await db.fetchone("SELECT start_pos FROM matches")
    assert row is not None and row[0] == 0


async def test_rescan_skips_a_post_edited_since_it_was_read(db: Database) -> None:
    posts, matches = PostRepository(db), MatchRepository(db)
    term = await add_term(db, "feint", "feint")
    stored = await posts.store_many([post(1, "a feint"), post(2, "a feint")], NOW)
    await matches.replace_for_posts(
        [PostToScan(r.post_id, "a feint") for r in stored], [], NOW, rules_version=0
    )
    await posts.store(post(2, "edited", NOW + timedelta(hours=1)), NOW)  # needs a scan again

    found = [at(term, r.post_id) for r in stored]
    new = await matches.add_rescan_batch(found, [term.term_id], 99, True, NOW, rules_version=1)

    assert new == [at(term, stored[0].post_id)]


async def test_a_scan_makes_a_bounded_number_of_round_trips(counting: CountingDatabase) -> None:
    """Per batch: read the posts, check the rules version, write: never one per match."""
    terms = [await add_term(counting, f"framing-{i}", f"signal{i}") for i in range(5)]
    texts = [" ".join(f"signal{j}" for j in range(5)) + f" {i}" for i in range(1000)]
    posts = PostRepository(counting)
    counting.calls.clear()
    await posts.store_many([post(i, text) for i, text in enumerate(texts)], NOW)
    # One transaction, a constant number of statements (the channels' executemany, the
    # stored ones read, one set-wise INSERT ... RETURNING), never one per post.
    assert counting.calls == Counter({"atomic": 1, "statement in atomic": 3})

    counting.calls.clear()
    report = await run_scan(
        FramingRepository(counting), MatchRepository(counting), lambda: NOW, batch=100
    )

    assert len(report.new_matches) == 5000 and len(terms) == 5
    batches = 10
    # Per batch: read the posts, check the rules version, write (one transaction of five
    # statements, the last adding the batch's trend_posts rows): a constant number of round
    # trips, never one per match (5,000 here).
    assert sum(counting.calls.values()) <= 9 * batches, counting.calls
    # the match writes, and the rescan's (which marks the terms done)
    assert counting.calls["atomic"] == batches + 1
    assert counting.calls["statement in atomic"] <= 5 * (batches + 1)

    counting.calls.clear()
    indexed = await run_indexing(counting, batch=100)
    assert indexed.posts_indexed == 1000 and indexed.posts_lemmatised == 1000
    # Per batch: near-duplicate indexing (queue, candidate keys, texts, write) and search's
    # lemma index (queue, then one transaction of four statements); the near-duplicate
    # index writes BULK_INDEX_BATCH posts at a time when it runs to the end: all 1,000 here,
    # in one atomic() block (a statement per kind of row).
    assert sum(counting.calls.values()) <= 7 * batches + 10, counting.calls
    assert counting.calls["atomic"] == batches + 1


def test_summary_counts_matches_and_posts_per_framing() -> None:
    rows = [MatchRow(1, 10, 1, 0, 4), MatchRow(1, 11, 1, 5, 9), MatchRow(2, 10, 1, 0, 4)]
    rows += [MatchRow(3, 20, 2, 0, 5)]
    counts = count_by_framing(rows)
    assert [(c.framing_id, c.matches, c.posts, c.example) for c in counts] == [
        (1, 3, 2, rows[0]),
        (2, 1, 1, rows[3]),
    ]
    report = ScanReport(posts_scanned=3, new_matches=rows)
    example = FlaggedPost("gesture", "goodwill", CHANNEL, "news", 7, "Goodwill")

    text = format_scan(report, counts, {1: "gesture", 2: "feint"}, {"gesture": example})

    assert text.splitlines() == [
        "Scanned 3 posts; applied 0 new terms to stored posts; 4 new matches.",
        "New matches per framing (matches, posts, an example):",
        "  gesture                         3 in        2 posts"
        "  e.g. https://t.me/news/7  “Goodwill”",
        "  feint                           1 in        1 posts",
        "Every match: framewatch scan --verbose, or framewatch export matches.",
    ]


async def _database_with_matches(path: Path, count: int) -> None:
    db = await open_database(path)
    try:
        await add_term(db, "goodwill", "goodwill gesture")
        await add_term(db, "feint", "tactical feint")
        texts = [f"Post {i}: a goodwill gesture" for i in range(count)] + ["a tactical feint"]
        await PostRepository(db).store_many([post(i, t) for i, t in enumerate(texts)], NOW)
    finally:
        await db.close()


@pytest.mark.parametrize("verbose", [False, True])
async def test_scan_command_prints_a_summary_or_every_match(tmp_path: Path, verbose: bool) -> None:
    path = tmp_path / "fw.db"
    await _database_with_matches(path, 30)

    args = ("scan", "--verbose") if verbose else ("scan",)
    result = run_framewatch(*args, cwd=tmp_path, db=path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Scanned 31 posts; applied 2 new terms to stored posts; 31 new matches."
    assert lines[2].split()[:5] == ["goodwill", "30", "in", "30", "posts"]
    assert "https://t.me/news/0" in lines[2] and "“goodwill gesture”" in lines[2]
    assert lines[3].split()[:5] == ["feint", "1", "in", "1", "posts"]
    every = [line for line in lines if "(term: " in line]
    if verbose:
        assert len(every) == 31
        assert every[-1].split() == [
            "feint",
            "https://t.me/news/30",
            "“tactical",
            "feint”",
            "(term:",
            "tactical",
            "feint)",
        ]
    else:
        assert every == []
        assert lines[-2] == "Every match: framewatch scan --verbose, or framewatch export matches."
    # The scan flags framings; the indexes for search and propagation are a command of their
    # own (a running bot builds them in the background).
    assert lines[-1].startswith("31 posts wait for the search and near-duplicate indexes: ")
    indexed = run_framewatch("index", cwd=tmp_path, db=path)
    assert indexed.returncode == 0, indexed.stderr
    assert indexed.stdout.splitlines() == [
        "Indexed 31 posts for search and 31 for near-duplicates."
    ]
    again = run_framewatch("scan", cwd=tmp_path, db=path)
    assert "wait for the search" not in again.stdout


async def test_rescan_progress_of_framings_at_different_cursors(db: Database) -> None:
    posts, matches = PostRepository(db), MatchRepository(db)
    stored = await posts.store_many([post(i, f"post {i}") for i in range(10)], NOW)
    ids = [r.post_id for r in stored]
    feint = await add_term(db, "feint", "feint")
    gesture = await add_term(db, "gesture", "gesture")
    done = await add_term(db, "done", "done")
    await matches.add_rescan_batch([], [feint.term_id], ids[2], False, NOW, rules_version=3)
    await matches.add_rescan_batch([], [gesture.term_id], ids[6], False, NOW, rules_version=3)
    await matches.add_rescan_batch([], [done.term_id], ids[9], True, NOW, rules_version=3)

    assert await matches.rescan_progress() == {
        feint.framing_id: RescanProgress(3, 10),
        gesture.framing_id: RescanProgress(7, 10),
    }
