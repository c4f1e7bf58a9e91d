"""Rules versions, the matcher compiled once per version, and background rescans that
report progress and survive a restart (bot.scan on real databases, SQLite and PostgreSQL:
tests.backends.any_db)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.config import Settings
from bot.context import Services
from bot.framings import check_new_term
from bot.scan import RulesCache, rescan_batch, rescan_percent, run_scan
from storage.backend import Backend
from storage.db import Database, migrate, open_backend
from storage.framings import FramingRepository
from storage.matches import RescanProgress
from storage.packs import PackFraming
from tests.conftest import DB_FILE

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CHANNEL = -1001234567890
MIGRATIONS = Path(__file__).resolve().parents[1] / "storage" / "migrations"


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Every test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


def make_services(db: Backend, tmp_path: Path) -> Services:
    settings = Settings(_env_file=None, bot_token="123:TEST", db_path=str(tmp_path / DB_FILE))
    return Services.create(settings, db, lambda: NOW)


@pytest.fixture
def services(db: Backend, tmp_path: Path) -> Services:
    return make_services(db, tmp_path)


async def store_posts(db: Backend, texts: list[str], scanned: bool = True) -> list[int]:
    """Posts stored directly (storing is not what these tests are about); scanned=True
    stores them as already matched against the terms of their time."""
    async with db.atomic() as conn:
        await conn.execute(
            "INSERT INTO channels (chat_id, username, title, added_at, updated_at)"
            " VALUES (?, 'news', 'News', ?, ?) ON CONFLICT DO NOTHING",
            (CHANNEL, NOW.isoformat(), NOW.isoformat()),
        )
        ids = []
        for text in texts:
            post_id = await conn.fetchval(
                "INSERT INTO posts (chat_id, message_id, posted_at, text, stored_at)"
                " VALUES (?, (SELECT coalesce(max(message_id), 0) + 1 FROM posts), ?, ?, ?)"
                " RETURNING id",
                (CHANNEL, int(NOW.timestamp()), text, NOW.isoformat()),
            )
            await conn.execute(  # the scan state (migration 0012)
                "UPDATE post_scan SET needs_scan = ? WHERE post_id = ?",
                (int(not scanned), post_id),
            )
            ids.append(int(post_id))
    return ids


async def watch(services: Services, slug: str, text: str, actor: int = 7) -> int:
    term = check_new_term(text)
    result = await services.framings.add_term(slug, term.text, term.key, actor, NOW)
    assert result.term_added and result.version is not None
    return result.version


async def matched(db: Backend) -> list[tuple[int, str]]:
    rows = await db.fetchall(
        "SELECT m.post_id, t.text FROM matches m JOIN terms t ON t.id = m.term_id"
        " ORDER BY m.post_id, t.id"
    )
    return [(r[0], r[1]) for r in rows]


async def history(db: Backend) -> list[tuple[int, str, str, str, int | None, str]]:
    rows = await db.fetchall(
        "SELECT version, framing_slug, term_text, change, user_id, via FROM rule_changes"
        " ORDER BY id"
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


# --- versions ------------------------------------------------------------------------------


async def test_every_term_change_is_a_new_rules_version(services: Services, db: Backend) -> None:
    framings = services.framings
    assert await framings.rules_version() == 0
    assert await watch(services, "feint", "tactical feint", actor=7) == 1
    assert await watch(services, "feint", "military feint", actor=8) == 2
    removed = await framings.remove_term("feint", "tactical feint", 9, NOW)
    assert removed is not None and removed.text == "tactical feint"
    pack = [PackFraming("kyiv-regime", "Kyiv regime", "", (("kyiv regime", "kyiv regime"),))]
    imported = await framings.import_pack(pack, None, NOW, via="pack p.toml", max_terms=500)
    gone = await framings.remove_framing("feint", 9, NOW)
    assert gone is not None and gone.terms == 1

    assert imported.version == 4
    assert await framings.rules_version() == 5
    assert await history(db) == [
        (1, "feint", "tactical feint", "added", 7, "/watch"),
        (2, "feint", "military feint", "added", 8, "/watch"),
        (3, "feint", "tactical feint", "removed", 9, "/unwatch"),
        (4, "kyiv-regime", "kyiv regime", "added", None, "pack p.toml"),
        (5, "feint", "military feint", "removed", 9, "/unwatch"),
    ]
    at = await db.fetchall("SELECT DISTINCT at FROM rule_changes")
    assert [row[0] for row in at] == [NOW.isoformat()]


async def test_a_change_that_changes_nothing_is_no_new_version(services: Services) -> None:
    await watch(services, "feint", "tactical feint")
    term = check_new_term("Tactical  FEINT")
    again = await services.framings.add_term("feint", term.text, term.key, 7, NOW)
    missing = await services.framings.remove_term("feint", "no such term", 7, NOW)
    same = [PackFraming("feint", None, None, ((term.text, term.key),))]
    imported = await services.framings.import_pack(same, None, NOW, via="p", max_terms=500)

    assert (again.term_added, again.version, missing, imported.version) == (False, None, None, None)
    assert await services.framings.rules_version() == 1


async def test_terms_from_before_versioning_become_version_one(tmp_path: Path) -> None:
    """A database from before this migration: its terms get version 1 and history rows."""
    files = sorted(
        (int(p.name[:4]), p.name, p.read_text(encoding="utf-8")) for p in MIGRATIONS.glob("*.sql")
    )
    conn = await aiosqlite.connect(tmp_path / "old.db", isolation_level=None)
    db = Database(conn, str(tmp_path / "old.db"))
    try:
        await migrate(db, [f for f in files if f[0] < 3])
        async with db.transaction() as c:
            await c.execute(
                "INSERT INTO framings (id, slug, title, created_at) VALUES (1, 'feint', 'F', 'x')"
            )
            await c.execute(
                "INSERT INTO terms (framing_id, text, key, backfilled, created_at, created_by)"
                " VALUES (1, 'tactical feint', 'tactical feint', 1, '2026-01-01T00:00:00+00:00', 5)"
            )
        assert await migrate(db, [f for f in files if f[0] == 3]) == ["0003_rules.sql"]
        assert await history(db) == [
            (1, "feint", "tactical feint", "added", 5, "before versioning")
        ]
        row = await db.fetchone("SELECT version, backfilled, rescanned_through FROM terms")
        assert row is not None
        assert tuple(row) == (1, 1, 0)
        assert await FramingRepository(db).rules_version() == 1
    finally:
        await db.close()


# --- the matcher is compiled once per rules version ---------------------------------------


async def test_matcher_is_compiled_once_per_rules_version(services: Services, db: Backend) -> None:
    rules = RulesCache()
    await watch(services, "feint", "tactical feint")
    await store_posts(db, ["a tactical feint"], scanned=False)

    for _ in range(3):
        await run_scan(services.framings, services.matches, services.clock, rules=rules)
    first = await rules.current(services.framings)
    assert rules.compilations == 1
    assert (first.version, [r.text for r in first.rules]) == (1, ["tactical feint"])

    await watch(services, "feint", "military feint")
    await store_posts(db, ["a military feint"], scanned=False)
    await run_scan(services.framings, services.matches, services.clock, rules=rules)
    await run_scan(services.framings, services.matches, services.clock, rules=rules)

    assert rules.compilations == 2
    assert (await rules.current(services.framings)).version == 2
    assert [t for _, t in await matched(db)] == ["tactical feint", "military feint"]


async def test_services_share_one_rules_cache(services: Services) -> None:
    await watch(services, "feint", "tactical feint")
    one = await services.rules.current(services.framings)
    two = await services.rules.current(services.framings)
    assert one is two
    assert services.rules.compilations == 1


# --- background rescans ------------------------------------------------------------------------


async def test_rescan_runs_one_batch_at_a_time_with_progress(
    services: Services, db: Backend
) -> None:
    ids = await store_posts(db, [f"post {i}: a tactical feint" for i in range(5)])
    await watch(services, "feint", "tactical feint")
    await watch(services, "other", "nothing like it")

    step = await rescan_batch(services.framings, services.matches, services.rules, clock, 2)

    assert step is not None
    assert (step.posts, step.terms_finished, len(step.new_matches)) == (2, 0, 2)
    progress = await services.matches.rescan_progress()
    assert list(progress.values()) == [RescanProgress(2, 5), RescanProgress(2, 5)]
    assert [rescan_percent(p) for p in progress.values()] == [40, 40]
    assert [p for p, _ in await matched(db)] == ids[:2]

    report = await run_scan(
        services.framings, services.matches, services.clock, batch=2, rules=services.rules
    )
    assert (report.posts_rescanned, report.terms_backfilled, report.rescan_pending) == (3, 2, False)
    assert await services.matches.rescan_progress() == {}
    assert [p for p, _ in await matched(db)] == ids
    assert await rescan_batch(services.framings, services.matches, services.rules, clock, 2) is None


async def test_a_rescan_matches_with_only_the_terms_it_applies(
    services: Services, db: Backend
) -> None:
    ids = await store_posts(db, ["a tactical feint", "a military feint and a tactical feint"])
    await watch(services, "feint", "tactical feint")
    await run_scan(services.framings, services.matches, clock, rules=services.rules)
    await watch(services, "feint", "military feint")

    compiled = await services.rules.current(services.framings)
    new_term = max(rule.term_id for rule in compiled.rules)
    subset = await services.rules.subset(compiled, frozenset({new_term}))
    assert subset is not compiled.matcher
    assert [h.term_id for h in subset.find("a tactical feint, a military feint")] == [new_term]
    assert await services.rules.subset(compiled, frozenset({new_term})) is subset  # kept
    every = frozenset(rule.term_id for rule in compiled.rules)
    assert await services.rules.subset(compiled, every) is compiled.matcher

    step = await rescan_batch(services.framings, services.matches, services.rules, clock, 10)
    assert step is not None and [(m.post_id, m.term_id) for m in step.new_matches] == [
        (ids[1], new_term)
    ]


async def test_max_rescan_batches_leaves_the_rest_for_the_next_scan(
    services: Services, db: Backend
) -> None:
    await store_posts(db, [f"post {i}: a tactical feint" for i in range(7)])
    await watch(services, "feint", "tactical feint")

    first = await run_scan(
        services.framings,
        services.matches,
        clock,
        batch=2,
        rules=services.rules,
        max_rescan_batches=2,
    )
    assert (first.posts_rescanned, first.terms_backfilled, first.rescan_pending) == (4, 0, True)
    [progress] = (await services.matches.rescan_progress()).values()
    assert (progress, rescan_percent(progress)) == (RescanProgress(4, 7), 57)

    second = await run_scan(
        services.framings,
        services.matches,
        clock,
        batch=2,
        rules=services.rules,
        max_rescan_batches=2,
    )
    assert (second.posts_rescanned, second.terms_backfilled, second.rescan_pending) == (3, 1, False)
    assert len(first.new_matches) + len(second.new_matches) == 7


async def test_restart_continues_the_rescan_where_it_stopped(
    tmp_path: Path, backend_target: str
) -> None:
    db = await open_backend(backend_target)
    services = make_services(db, tmp_path)
    ids = await store_posts(db, [f"post {i}: a tactical feint" for i in range(10)])
    await watch(services, "feint", "tactical feint")
    for _ in range(2):  # two batches of 3, then the bot stops
        await rescan_batch(services.framings, services.matches, services.rules, clock, 3)
    await db.close()

    db = await open_backend(backend_target)  # a new process: nothing in memory survives
    try:
        services = make_services(db, tmp_path)
        [progress] = (await services.matches.rescan_progress()).values()
        assert progress == RescanProgress(6, 10)
        steps = []
        while step := await rescan_batch(
            services.framings, services.matches, services.rules, clock, 3
        ):
            steps.append(step)
        # It went on from post 7: 3 posts and the last one, not all 10 again.
        assert [(s.posts, s.terms_finished) for s in steps] == [(3, 0), (1, 1)]
        assert sum(len(s.new_matches) for s in steps) == 4
        assert [p for p, _ in await matched(db)] == ids
    finally:
        await db.close()


async def test_term_added_mid_rescan_joins_it_from_the_start(
    services: Services, db: Backend
) -> None:
    ids = await store_posts(db, [f"post {i}: a tactical feint, a military feint" for i in range(6)])
    await watch(services, "feint", "tactical feint")
    await rescan_batch(services.framings, services.matches, services.rules, clock, 4)
    await watch(services, "feint", "military feint")  # a new rules version mid-rescan

    report = await run_scan(
        services.framings, services.matches, clock, batch=4, rules=services.rules
    )

    assert report.terms_backfilled == 2
    assert report.rescan_pending is False
    rows = await matched(db)
    assert [p for p, t in rows if t == "tactical feint"] == ids
    assert [p for p, t in rows if t == "military feint"] == ids
    assert services.rules.compilations == 2


async def test_new_posts_during_a_rescan_are_matched_against_every_term(
    services: Services, db: Backend
) -> None:
    old = await store_posts(db, [f"old {i}: a tactical feint" for i in range(4)])
    await watch(services, "feint", "tactical feint")
    await rescan_batch(services.framings, services.matches, services.rules, clock, 2)
    new = await store_posts(db, ["new: a tactical feint"], scanned=False)

    report = await run_scan(
        services.framings, services.matches, clock, batch=2, rules=services.rules
    )

    assert report.posts_scanned == 1
    assert [p for p, _ in await matched(db)] == old + new
    assert await services.matches.posts_needing_scan(10) == []


async def test_removed_term_loses_its_matches_and_leaves_the_rescan(
    services: Services, db: Backend
) -> None:
    await store_posts(db, [f"post {i}: a tactical feint, a military feint" for i in range(4)])
    await watch(services, "feint", "tactical feint")
    await watch(services, "other", "military feint")
    await rescan_batch(services.framings, services.matches, services.rules, clock, 2)
    assert len(await matched(db)) == 4

    assert await services.framings.remove_term("feint", "tactical feint", 7, NOW)

    assert [t for _, t in await matched(db)] == ["military feint"] * 2  # ON DELETE CASCADE
    assert list((await services.matches.rescan_progress()).values()) == [RescanProgress(2, 4)]
    await run_scan(services.framings, services.matches, clock, rules=services.rules)
    assert [t for _, t in await matched(db)] == ["military feint"] * 4


def clock() -> datetime:
    return NOW + timedelta(minutes=1)


async def test_posts_first_scanned_with_the_new_terms_are_not_rescanned(
    services: Services, db: Backend
) -> None:
    """Posts and terms that arrive together (a backlog and a pack) are matched once."""
    ids = await store_posts(db, [f"post {i}: a tactical feint" for i in range(5)], scanned=False)
    older = await store_posts(db, ["scanned before the term: a tactical feint"])
    await watch(services, "feint", "tactical feint")

    report = await run_scan(
        services.framings, services.matches, clock, batch=2, rules=services.rules
    )

    assert (report.posts_scanned, report.posts_rescanned, report.terms_backfilled) == (5, 1, 1)
    assert sorted(m.post_id for m in report.new_matches) == ids + older
    versions = await db.fetchall("SELECT scanned_version FROM post_scan ORDER BY post_id")
    assert [r[0] for r in versions] == [1] * 5 + [0]
