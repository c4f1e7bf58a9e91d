"""bot.scan.run_scan on real databases (SQLite and PostgreSQL: tests.backends.any_db):
backfill of new terms, scans of new and edited posts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.context import Services
from bot.framings import check_new_term
from bot.scan import ScanReport, run_scan
from storage.backend import Backend
from storage.db import Database
from storage.models import IncomingPost, MatchRow
from tests.conftest import DB_FILE

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CHANNEL = -1001234567890


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Every test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


@pytest.fixture
def services(db: Database, tmp_path: Path) -> Services:
    settings = Settings(_env_file=None, bot_token="123:TEST", db_path=str(tmp_path / DB_FILE))
    return Services.create(settings, db, lambda: NOW)


async def store(
    services: Services, message_id: int, text: str, edited_at: datetime | None = None
) -> int:
    result = await services.posts.store(
        IncomingPost(
            chat_id=CHANNEL,
            message_id=message_id,
            posted_at=NOW - timedelta(minutes=message_id),
            text=text,
            channel_title="News",
            channel_username="news",
            edited_at=edited_at,
        ),
        NOW,
    )
    return result.post_id


async def watch(services: Services, slug: str, text: str) -> int:
    """Add a term as a moderator would; returns its id."""
    term = check_new_term(text)
    result = await services.framings.add_term(slug, term.text, term.key, 7, NOW)
    assert result.term_added
    return max(t.term_id for t in await services.framings.all_terms())


async def scan(services: Services, batch: int = 500) -> ScanReport:
    return await run_scan(services.framings, services.matches, services.clock, batch=batch)


async def stored_matches(db: Database) -> list[tuple[int, int, str]]:
    """(post id, term id, the matched text cut from posts.text by the stored offsets)."""
    rows = await db.fetchall(
        "SELECT m.post_id, m.term_id, substr(p.text, CAST(m.start_pos AS INTEGER) + 1,"
        " CAST(m.end_pos - m.start_pos AS INTEGER))"
        " FROM matches m JOIN posts p ON p.id = m.post_id ORDER BY m.post_id, m.term_id"
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def backfilled(db: Database, term_id: int) -> int:
    return int(await db.fetchval("SELECT backfilled FROM terms WHERE id = ?", (term_id,)))


def pairs(rows: list[MatchRow]) -> list[tuple[int, int]]:
    return sorted((m.post_id, m.term_id) for m in rows)


async def test_new_term_is_backfilled_on_posts_stored_before_it(
    services: Services, db: Database
) -> None:
    p1 = await store(services, 1, "They call it a gesture of goodwill.")
    await store(services, 2, "Weather: rain.")
    p3 = await store(services, 3, "Another GESTURE of Goodwill, again.")
    first = await scan(services)  # no terms yet: the posts are scanned against nothing
    assert (first.posts_scanned, first.terms_backfilled, first.new_matches) == (3, 0, [])

    term = await watch(services, "goodwill-gesture", "gesture of goodwill")
    assert await backfilled(db, term) == 0
    report = await scan(services)

    assert report.terms_backfilled == 1
    assert report.posts_scanned == 0
    assert pairs(report.new_matches) == [(p1, term), (p3, term)]
    assert await stored_matches(db) == [
        (p1, term, "gesture of goodwill"),
        (p3, term, "GESTURE of Goodwill"),
    ]
    assert await backfilled(db, term) == 1


async def test_posts_stored_after_the_terms_are_matched_against_all_terms(
    services: Services, db: Database
) -> None:
    goodwill = await watch(services, "goodwill-gesture", "goodwill gesture")
    feint = await watch(services, "feint", "tactical feint")
    await scan(services)  # backfills both terms over no posts
    p1 = await store(services, 1, "A goodwill gesture and a tactical feint in one post.")
    p2 = await store(services, 2, "Only a tactical feint here.")
    await store(services, 3, "Nothing.")

    report = await scan(services)

    assert report.posts_scanned == 3
    assert report.terms_backfilled == 0
    assert pairs(report.new_matches) == [(p1, goodwill), (p1, feint), (p2, feint)]
    assert [(post, term) for post, term, _ in await stored_matches(db)] == [
        (p1, goodwill),
        (p1, feint),
        (p2, feint),
    ]
    assert await services.matches.posts_needing_scan(10) == []


async def test_first_scan_reports_each_new_match_once(services: Services, db: Database) -> None:
    """Posts and terms both new (the demo, or a bot started with a pack and a backlog)."""
    p1 = await store(services, 1, "It was a goodwill gesture.")
    p2 = await store(services, 2, "Another goodwill gesture.")
    await store(services, 3, "Nothing here.")
    term = await watch(services, "goodwill-gesture", "goodwill gesture")

    report = await scan(services)

    assert len(await stored_matches(db)) == 2
    assert pairs(report.new_matches) == [(p1, term), (p2, term)]  # each once, not twice


async def test_second_scan_finds_nothing_new_and_duplicates_nothing(
    services: Services, db: Database
) -> None:
    await watch(services, "goodwill-gesture", "goodwill gesture")
    await scan(services)
    for message_id in range(1, 5):
        await store(services, message_id, f"Post {message_id}: a goodwill gesture.")
    await scan(services)
    before = await stored_matches(db)

    again = await scan(services)

    assert (again.posts_scanned, again.terms_backfilled, again.new_matches) == (0, 0, [])
    assert await stored_matches(db) == before
    assert len(before) == 4


async def test_edited_post_is_matched_again(services: Services, db: Database) -> None:
    goodwill = await watch(services, "goodwill-gesture", "goodwill gesture")
    feint = await watch(services, "feint", "tactical feint")
    await scan(services)
    post_id = await store(services, 1, "It was a goodwill gesture.")
    await scan(services)
    assert [(p, t) for p, t, _ in await stored_matches(db)] == [(post_id, goodwill)]

    await store(services, 1, "No: it was a tactical feint.", edited_at=NOW)
    report = await scan(services)

    assert report.posts_scanned == 1
    assert pairs(report.new_matches) == [(post_id, feint)]
    assert await stored_matches(db) == [(post_id, feint, "tactical feint")]


async def test_edit_that_keeps_the_term_moves_the_offsets(services: Services, db: Database) -> None:
    term = await watch(services, "goodwill-gesture", "goodwill gesture")
    await scan(services)
    post_id = await store(services, 1, "A goodwill gesture.")
    await scan(services)
    await store(services, 1, "Update, see above: a Goodwill Gesture.", edited_at=NOW)

    report = await scan(services)

    assert pairs(report.new_matches) == [(post_id, term)]
    assert await stored_matches(db) == [(post_id, term, "Goodwill Gesture")]


async def test_removed_term_loses_its_matches(services: Services, db: Database) -> None:
    goodwill = await watch(services, "goodwill-gesture", "goodwill gesture")
    await watch(services, "goodwill-gesture", "gesture of goodwill")
    feint = await watch(services, "feint", "tactical feint")
    post_id = await store(
        services, 1, "A goodwill gesture, a gesture of goodwill, a tactical feint"
    )
    await scan(services)
    assert len(await stored_matches(db)) == 3

    assert await services.framings.remove_term("goodwill-gesture", "gesture of goodwill", 7, NOW)
    assert [(p, t) for p, t, _ in await stored_matches(db)] == [
        (post_id, goodwill),
        (post_id, feint),
    ]
    gone = await services.framings.remove_framing("feint", 7, NOW)
    assert gone is not None and gone.terms == 1
    assert [(p, t) for p, t, _ in await stored_matches(db)] == [(post_id, goodwill)]

    report = await scan(services)  # nothing comes back
    assert report.new_matches == []
    assert [(p, t) for p, t, _ in await stored_matches(db)] == [(post_id, goodwill)]


async def test_term_matching_nothing(services: Services, db: Database) -> None:
    await store(services, 1, "Weather: rain.")
    await store(services, 2, "Markets: calm.")
    await scan(services)
    term = await watch(services, "unused", "orderly redeployment")

    report = await scan(services)

    assert (report.terms_backfilled, report.posts_scanned, report.new_matches) == (1, 0, [])
    assert await backfilled(db, term) == 1
    assert await stored_matches(db) == []
    assert (await scan(services)).terms_backfilled == 0  # not backfilled a second time


@pytest.mark.parametrize("count", [1, 2, 4, 5])
async def test_batches_cover_every_post_in_backfill(
    services: Services, db: Database, count: int
) -> None:
    ids = [await store(services, i, f"Post {i} calls it a goodwill gesture.") for i in range(count)]
    await scan(services)
    term = await watch(services, "goodwill-gesture", "goodwill gesture")

    report = await scan(services, batch=2)

    assert report.terms_backfilled == 1
    assert pairs(report.new_matches) == [(post_id, term) for post_id in ids]
    assert [p for p, _, _ in await stored_matches(db)] == ids
    assert await backfilled(db, term) == 1


@pytest.mark.parametrize("count", [1, 2, 4, 5])
async def test_batches_cover_every_new_post(services: Services, db: Database, count: int) -> None:
    term = await watch(services, "goodwill-gesture", "goodwill gesture")
    await scan(services)
    ids = [await store(services, i, f"Post {i} calls it a goodwill gesture.") for i in range(count)]

    report = await scan(services, batch=2)

    assert report.posts_scanned == count
    assert pairs(report.new_matches) == [(post_id, term) for post_id in ids]
    assert [p for p, _, _ in await stored_matches(db)] == ids
    assert await services.matches.posts_needing_scan(100) == []


async def test_match_offsets_point_at_the_matched_words(services: Services, db: Database) -> None:
    goodwill = await watch(services, "goodwill-gesture", "жест доброй воли")
    feint = await watch(services, "feint", "tactical feint")
    await scan(services)
    text = (
        "🔥 Срочно! Это был ЖЕСТ – доброй\u00a0воли, а не поражение. "
        "Later: «tactical feint», and a tactical feint again."
    )
    post_id = await store(services, 1, text)

    await scan(services)

    rows = await db.fetchall("SELECT term_id, start_pos, end_pos FROM matches ORDER BY term_id")
    spans = {r[0]: text[r[1] : r[2]] for r in rows}
    assert spans == {goodwill: "ЖЕСТ – доброй\u00a0воли", feint: "tactical feint"}
    feint_start = next(r[1] for r in rows if r[0] == feint)
    assert feint_start == text.index("tactical feint")  # the first occurrence
    described = await services.matches.describe(
        [MatchRow(post_id, r[0], 0, r[1], r[2]) for r in rows]
    )
    assert [d.matched_text for d in described] == ["ЖЕСТ – доброй\u00a0воли", "tactical feint"]


async def test_two_thousand_posts_and_fifty_terms(services: Services, db: Database) -> None:
    names = [f"{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(50)]  # aa, ab, ...
    term_ids = [
        await watch(services, f"framing-{i % 5}", f"signal {n}") for i, n in enumerate(names)
    ]
    await scan(services)
    posts = 2000
    async with db.atomic() as conn:  # one transaction: storing is not what is measured
        await conn.execute(
            "INSERT INTO channels (chat_id, username, title, added_at, updated_at)"
            " VALUES (?, 'news', 'News', ?, ?)",
            (CHANNEL, NOW.isoformat(), NOW.isoformat()),
        )
        await conn.executemany(
            "INSERT INTO posts (chat_id, message_id, posted_at, text, stored_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (
                    CHANNEL,
                    i,
                    int(NOW.timestamp()) - i,
                    f"Post {i}: the signal {names[i % 50]} was seen"
                    + (f", then signal {names[(i + 1) % 50]} too." if i % 3 == 0 else "."),
                    NOW.isoformat(),
                )
                for i in range(posts)
            ],
        )
    expected = posts + len(range(0, posts, 3))

    report = await scan(services)

    assert report.posts_scanned == posts
    assert len(report.new_matches) == expected
    assert await services.matches.count() == expected
    expected_per_term = Counter(term_ids[i % 50] for i in range(posts)) + Counter(
        term_ids[(i + 1) % 50] for i in range(0, posts, 3)
    )
    per_term = Counter(r[0] for r in await db.fetchall("SELECT term_id FROM matches"))
    assert per_term == expected_per_term
    assert Counter(m.term_id for m in report.new_matches) == expected_per_term
    assert (await scan(services)).new_matches == []

    # Backfill at the same scale: one more term, applied to all 2,000 stored posts.
    post_term = await watch(services, "framing-x", "was seen")
    backfill = await scan(services, batch=300)
    assert backfill.terms_backfilled == 1
    assert len(backfill.new_matches) == posts
    assert {m.term_id for m in backfill.new_matches} == {post_term}
    assert await services.matches.count() == expected + posts
