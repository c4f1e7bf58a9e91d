"""Repositories in storage/ against real databases: migrations, posts, framings, audit,
roles, subscribers, deliveries, inbox, full-text search and transactions.

The repositories ported to storage.backend run on SQLite and on PostgreSQL (`db` is
tests.backends.any_db); search and what only SQLite has are @sqlite_only."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import asyncpg
import pytest

from storage.backend import Backend
from storage.db import Database, _migration_files, migrate, open_database
from storage.framings import AddTermResult, FramingRepository
from storage.inbox import InboxRepository
from storage.matches import MatchRepository
from storage.models import InboxUpdate, IncomingPost, MatchRow, PostToScan, StoreResult
from storage.packs import PackFraming
from storage.posts import ChannelRepository, PostRepository
from storage.roles import RoleRepository
from storage.rule_changes import TermLimitError
from storage.search import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    MAX_QUERY_LENGTH,
    QuerySyntaxError,
    SearchRepository,
)
from storage.subscribers import DeliveryRepository, SubscriberRepository
from tests.backends import sqlite_only

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CHANNEL = -1001234567890
OTHER_CHANNEL = -1009876543210
MODERATOR = 501
ADMIN = 1


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Every test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


PROJECT = Path(__file__).resolve().parents[1]


def post(
    message_id: int = 1,
    text: str = "It was a goodwill gesture, they said.",
    *,
    chat_id: int = CHANNEL,
    username: str | None = "news",
    title: str = "News",
    posted_at: datetime | None = None,
    edited_at: datetime | None = None,
) -> IncomingPost:
    return IncomingPost(
        chat_id=chat_id,
        message_id=message_id,
        posted_at=posted_at or NOW - timedelta(hours=1),
        text=text,
        channel_title=title,
        channel_username=username,
        edited_at=edited_at,
    )


async def audit_rows(db: Database) -> list[tuple[int | None, str, str]]:
    rows = await db.fetchall("SELECT user_id, action, detail FROM audit_log ORDER BY id")
    return [(r["user_id"], r["action"], r["detail"]) for r in rows]


async def scalar(db: Database, sql: str, params: tuple[object, ...] = ()) -> object:
    return await db.fetchval(sql, params)


# --- the database itself -------------------------------------------------------------------


async def test_migrations_are_applied_once_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "fw.db"
    path.parent.mkdir(parents=True)  # a missing folder is refused, not created (a typo?)
    first = await open_database(path)
    try:
        recorded = [
            (r["version"], r["name"], r["applied_at"])
            for r in await first.fetchall("SELECT * FROM schema_migrations ORDER BY version")
        ]
        shipped = sorted(f.name for f in (PROJECT / "storage" / "migrations").glob("*.sql"))
        assert shipped[0] == "0001_init.sql"
        assert [(v, n) for v, n, _ in recorded] == [(int(n[:4]), n) for n in shipped]
        assert await migrate(first) == []  # nothing left to apply
    finally:
        await first.close()

    second = await open_database(path)
    try:
        again = [
            (r["version"], r["name"], r["applied_at"])
            for r in await second.fetchall("SELECT * FROM schema_migrations ORDER BY version")
        ]
        tables = {
            r[0] for r in await second.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
        }
    finally:
        await second.close()
    assert again == recorded  # same versions, same application times: not re-applied
    assert {"posts", "channels", "framings", "terms", "matches", "audit_log", "inbox"} <= tables


@sqlite_only
async def test_failing_migration_leaves_nothing_and_is_not_recorded(db: Database) -> None:
    bad = (
        99,
        "0099_bad.sql",
        "CREATE TABLE half_done (x INTEGER);\nINSERT INTO nowhere VALUES (1);\n",
    )
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        await migrate(db, [bad])

    assert await scalar(db, "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'") == 0
    assert await scalar(db, "SELECT count(*) FROM schema_migrations WHERE version = 99") == 0
    # The lock was released: the database is still usable.
    shipped = len(list((PROJECT / "storage" / "migrations").glob("*.sql")))
    assert await scalar(db, "SELECT count(*) FROM schema_migrations") == shipped


@sqlite_only
async def test_pragmas(db: Database) -> None:
    assert await scalar(db, "PRAGMA journal_mode") == "wal"
    assert await scalar(db, "PRAGMA foreign_keys") == 1
    assert await scalar(db, "PRAGMA busy_timeout") == 5000


@sqlite_only
async def test_transaction_that_raises_leaves_nothing_behind(db: Database) -> None:
    async def half_done() -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO channels (chat_id, username, title, added_at, updated_at)"
                " VALUES (?, 'news', 'News', '2026-01-01', '2026-01-01')",
                (CHANNEL,),
            )
            await conn.execute(
                "INSERT INTO posts (chat_id, message_id, posted_at, text, stored_at)"
                " VALUES (?, 1, 0, 'rolled back words', '2026-01-01')",
                (CHANNEL,),
            )
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await half_done()

    assert await scalar(db, "SELECT count(*) FROM channels") == 0
    assert await scalar(db, "SELECT count(*) FROM posts") == 0
    assert await SearchRepository(db).search("rolled") == []
    # The lock is free again and later transactions commit normally.
    assert (await PostRepository(db).store(post(), NOW)).outcome == "new"
    assert await PostRepository(db).count() == 1


async def test_failed_statement_inside_repository_changes_nothing(db: Database) -> None:
    roles = RoleRepository(db)
    with pytest.raises((sqlite3.IntegrityError, asyncpg.CheckViolationError)):
        await roles.grant(7, "emperor", ADMIN, NOW)  # violates the CHECK on roles.role
    assert await roles.all() == []
    assert await audit_rows(db) == []


# --- posts and channels --------------------------------------------------------------------


async def test_store_new_then_same_again_is_unchanged(db: Database) -> None:
    posts = PostRepository(db)
    first = await posts.store(post(), NOW)
    again = await posts.store(post(), NOW + timedelta(minutes=1))

    assert first.outcome == "new"
    assert again == StoreResult(first.post_id, "unchanged")
    assert await posts.count() == 1
    assert await posts.versions(CHANNEL, 1) == []
    row = await db.fetchone(
        "SELECT p.*, s.needs_scan FROM posts p JOIN post_scan s ON s.post_id = p.id"
    )
    assert row is not None
    assert row["text"] == "It was a goodwill gesture, they said."
    assert row["posted_at"] == int((NOW - timedelta(hours=1)).timestamp())
    assert row["edited_at"] is None
    assert row["needs_scan"] == 1


async def test_same_message_id_in_two_channels_is_two_posts(db: Database) -> None:
    posts = PostRepository(db)
    a = await posts.store(post(1, "first channel"), NOW)
    b = await posts.store(post(1, "second channel", chat_id=OTHER_CHANNEL), NOW)
    assert (a.outcome, b.outcome) == ("new", "new")
    assert a.post_id != b.post_id
    assert await posts.count() == 2


async def test_changed_text_is_an_edit_and_old_text_is_kept(db: Database) -> None:
    posts = PostRepository(db)
    original = await posts.store(post(text="version one"), NOW)
    edit1 = await posts.store(
        post(text="version two", edited_at=NOW + timedelta(minutes=5)), NOW + timedelta(minutes=5)
    )
    edit2 = await posts.store(
        post(text="version three", edited_at=NOW + timedelta(minutes=9)), NOW + timedelta(minutes=9)
    )

    assert (edit1.outcome, edit2.outcome) == ("edited", "edited")
    assert edit1.post_id == edit2.post_id == original.post_id
    assert await posts.text_of(CHANNEL, 1) == "version three"
    assert await posts.versions(CHANNEL, 1) == ["version one", "version two"]
    assert await posts.count() == 1
    edited_at = await scalar(db, "SELECT edited_at FROM posts")
    assert edited_at == int((NOW + timedelta(minutes=9)).timestamp())


async def test_late_older_version_is_stale_and_ignored(db: Database) -> None:
    posts = PostRepository(db)
    await posts.store(post(text="original"), NOW)
    await posts.store(post(text="newest", edited_at=NOW + timedelta(minutes=10)), NOW)

    middle = await posts.store(post(text="middle", edited_at=NOW + timedelta(minutes=5)), NOW)
    replayed_original = await posts.store(post(text="original"), NOW)

    assert middle.outcome == "stale"
    assert replayed_original.outcome == "stale"
    assert await posts.text_of(CHANNEL, 1) == "newest"
    assert await posts.versions(CHANNEL, 1) == ["original"]


async def test_edit_deletes_matches_and_marks_post_for_scanning(db: Database) -> None:
    posts, framings, matches = PostRepository(db), FramingRepository(db), MatchRepository(db)
    text = "It was a goodwill gesture, they said."
    stored = await posts.store(post(text=text), NOW)
    await framings.add_term("goodwill-gesture", "goodwill gesture", "goodwill gesture", None, NOW)
    [term] = await framings.all_terms()
    start = text.index("goodwill")
    found = MatchRow(stored.post_id, term.term_id, term.framing_id, start, start + 16)
    assert await matches.replace_for_posts([PostToScan(stored.post_id, text)], [found], NOW) == [
        found
    ]
    assert await matches.count() == 1
    assert await scalar(db, "SELECT needs_scan FROM post_scan") == 0

    edit = await posts.store(post(text="Nothing to see.", edited_at=NOW + timedelta(hours=1)), NOW)

    assert edit.outcome == "edited"
    assert await matches.count() == 0
    assert await scalar(db, "SELECT needs_scan FROM post_scan") == 1
    assert await matches.posts_needing_scan(10) == [
        PostToScan(stored.post_id, "Nothing to see.", 1)
    ]


async def test_channel_keeps_known_username_and_title_when_a_source_lacks_them(
    db: Database,
) -> None:
    posts = PostRepository(db)
    await posts.store(post(1, username="news", title="News"), NOW)
    await posts.store(post(2, username=None, title=""), NOW + timedelta(minutes=1))

    row = await db.fetchone("SELECT username, title, updated_at FROM channels")
    assert row is not None
    assert (row["username"], row["title"]) == ("news", "News")
    assert row["updated_at"] == (NOW + timedelta(minutes=1)).isoformat()

    await posts.store(post(3, username="news_renamed", title="News 2"), NOW)
    row = await db.fetchone("SELECT username, title FROM channels")
    assert row is not None
    assert (row["username"], row["title"]) == ("news_renamed", "News 2")


async def test_channel_membership_and_stats(db: Database) -> None:
    posts, channels = PostRepository(db), ChannelRepository(db)
    member, forwarded_only, silent = CHANNEL, OTHER_CHANNEL, -1005555555555
    await channels.set_membership(member, "news", "News", True, NOW)
    await channels.set_membership(silent, None, "Quiet", True, NOW)
    for message_id, hours_ago in ((1, 30), (2, 3), (3, 10)):
        await posts.store(post(message_id, posted_at=NOW - timedelta(hours=hours_ago)), NOW)
    await posts.store(
        post(9, chat_id=forwarded_only, username="fwd", title="Forwarded", posted_at=NOW), NOW
    )

    stats = await channels.list_with_stats()

    assert [(s.chat_id, s.is_member, s.post_count) for s in stats] == [
        (member, True, 3),
        (silent, True, 0),
        (forwarded_only, False, 1),  # known only from a forward: the bot is not a member
    ]
    assert stats[0].last_post_at == NOW - timedelta(hours=3)
    assert stats[0].username == "news"
    assert stats[1].last_post_at is None
    assert stats[2].last_post_at == NOW

    await channels.set_membership(member, None, "", False, NOW)  # the bot was removed
    left = {s.chat_id: s for s in await channels.list_with_stats()}[member]
    assert (left.is_member, left.username, left.title, left.post_count) == (
        False,
        "news",
        "News",
        3,
    )


# --- framings, terms and the audit log -----------------------------------------------------


async def test_add_term_creates_framing_and_refuses_duplicate_keys(db: Database) -> None:
    framings = FramingRepository(db)

    first = await framings.add_term("goodwill", "goodwill gesture", "goodwill gesture", 7, NOW)
    second = await framings.add_term("goodwill", "Жест доброй воли", "жест доброй воли", 7, NOW)
    duplicate = await framings.add_term("goodwill", "Goodwill  Gesture", "goodwill gesture", 8, NOW)

    assert first == AddTermResult(framing_created=True, term_added=True, version=1)
    assert second == AddTermResult(framing_created=False, term_added=True, version=2)
    assert duplicate == AddTermResult(framing_created=False, term_added=False, version=None)
    assert await framings.rules_version() == 2  # the refused duplicate is no new version
    assert await framings.exists("goodwill")
    assert not await framings.exists("other")
    assert await framings.term_count("goodwill") == 2
    assert [t.text for t in await framings.all_terms()] == ["goodwill gesture", "Жест доброй воли"]
    assert await audit_rows(db) == [
        (7, "watch", "goodwill: goodwill gesture"),
        (7, "watch", "goodwill: Жест доброй воли"),
    ]  # the refused duplicate wrote nothing


async def test_add_term_enforces_the_term_limit_in_its_transaction(db: Database) -> None:
    framings = FramingRepository(db)
    await framings.add_term("full", "first term", "first term", 7, NOW, max_terms=2)
    await framings.add_term("full", "second term", "second term", 7, NOW, max_terms=2)
    with pytest.raises(TermLimitError) as raised:
        await framings.add_term("full", "third term", "third term", 7, NOW, max_terms=2)
    assert raised.value.limit == 2
    with pytest.raises(TermLimitError):  # a new framing with no room is not left behind
        await framings.add_term("none", "any term", "any term", 7, NOW, max_terms=0)
    assert await framings.term_count("full") == 2
    assert not await framings.exists("none")
    assert await framings.rules_version() == 2  # the refusals wrote no version


async def test_removals_return_the_rules_version_they_wrote(db: Database) -> None:
    framings = FramingRepository(db)
    await framings.add_term("one", "first term", "first term", 7, NOW)
    await framings.add_term("one", "second term", "second term", 7, NOW)
    removed = await framings.remove_term("one", "first term", 7, NOW)
    await framings.add_term("two", "other term", "other term", 8, NOW)  # a later change
    gone = await framings.remove_framing("one", 7, NOW)
    assert removed is not None and (removed.text, removed.version) == ("first term", 3)
    assert gone is not None and (gone.terms, gone.version) == (1, 5)


async def test_same_term_key_may_be_used_by_two_framings(db: Database) -> None:
    framings = FramingRepository(db)
    await framings.add_term("one", "shared words", "shared words", None, NOW)
    result = await framings.add_term("two", "shared words", "shared words", None, NOW)
    assert result == AddTermResult(framing_created=True, term_added=True, version=2)
    assert len(await framings.all_terms()) == 2


async def test_remove_term(db: Database) -> None:
    framings = FramingRepository(db)
    await framings.add_term("feint", "tactical feint", "tactical feint", 7, NOW)
    await framings.add_term("feint", "feint", "feint", 7, NOW)

    removed = await framings.remove_term("feint", "tactical feint", 9, NOW)
    assert removed is not None and removed.text == "tactical feint"
    assert await framings.remove_term("feint", "tactical feint", 9, NOW) is None
    assert await framings.remove_term("nope", "feint", 9, NOW) is None

    assert [t.text for t in await framings.all_terms()] == ["feint"]
    assert (await audit_rows(db))[2:] == [(9, "unwatch", "feint: tactical feint")]


async def test_remove_framing_cascades_to_terms_and_matches(db: Database) -> None:
    framings, matches, posts = FramingRepository(db), MatchRepository(db), PostRepository(db)
    stored = await posts.store(post(), NOW)
    await framings.add_term("goodwill", "goodwill gesture", "goodwill gesture", 7, NOW)
    await framings.add_term("goodwill", "gesture", "gesture", 7, NOW)
    await framings.add_term("keep", "they said", "they said", 7, NOW)
    terms = await framings.all_terms()
    await matches.replace_for_posts(
        [PostToScan(stored.post_id, post().text)],
        [MatchRow(stored.post_id, t.term_id, t.framing_id, 0, 1) for t in terms],
        NOW,
    )
    assert await matches.count() == 3

    gone = await framings.remove_framing("goodwill", 9, NOW)
    assert gone is not None and gone.terms == 2
    assert await framings.remove_framing("goodwill", 9, NOW) is None

    assert not await framings.exists("goodwill")
    assert [t.text for t in await framings.all_terms()] == ["they said"]
    assert await matches.count() == 1
    assert await scalar(db, "SELECT count(*) FROM matches m JOIN terms t ON t.id = m.term_id") == 1
    assert (await audit_rows(db))[-1] == (9, "unwatch", "goodwill (whole framing, 2 terms)")
    assert len(await audit_rows(db)) == 4  # three watches and one unwatch


async def test_list_with_stats_counts_distinct_posts(db: Database) -> None:
    framings, matches, posts = FramingRepository(db), MatchRepository(db), PostRepository(db)
    p1 = (await posts.store(post(1), NOW)).post_id
    p2 = (await posts.store(post(2), NOW)).post_id
    await framings.add_term("b-framing", "goodwill gesture", "goodwill gesture", None, NOW)
    await framings.add_term("b-framing", "gesture", "gesture", None, NOW)
    await framings.add_term("a-empty", "never", "never", None, NOW)
    t1, t2, _ = await framings.all_terms()
    found = [
        MatchRow(p1, t1.term_id, t1.framing_id, 0, 1),
        MatchRow(p1, t2.term_id, t2.framing_id, 0, 1),  # same post, second term
        MatchRow(p2, t2.term_id, t2.framing_id, 0, 1),
    ]
    await matches.replace_for_posts(
        [PostToScan(p1, post(1).text), PostToScan(p2, post(2).text)], found, NOW
    )

    stats = await framings.list_with_stats()

    assert [(s.slug, s.terms, s.post_count) for s in stats] == [
        ("a-empty", ("never",), 0),
        ("b-framing", ("goodwill gesture", "gesture"), 2),
    ]


async def test_import_pack_adds_and_updates_and_keeps_unlisted_terms(db: Database) -> None:
    framings = FramingRepository(db)
    await framings.add_term("goodwill", "goodwill gesture", "goodwill gesture", MODERATOR, NOW)
    await framings.add_term("goodwill", "only in the db", "only in the db", MODERATOR, NOW)
    pack = [
        PackFraming(
            "goodwill",
            "Goodwill",
            "desc",
            (
                ("goodwill gesture", "goodwill gesture"),
                ("gesture of goodwill", "gesture of goodwill"),
            ),
        ),
        PackFraming("feint", "Feint", "A feint", (("tactical feint", "tactical feint"),)),
    ]

    first = await framings.import_pack(pack, ADMIN, NOW, via="pack p.toml", max_terms=500)
    again = await framings.import_pack(pack, ADMIN, NOW, via="pack p.toml", max_terms=500)

    goodwill, feint = first.framings
    assert first.version == 3  # one version for the whole import
    assert (goodwill.created, goodwill.title_changed, goodwill.description_changed) == (
        False,
        True,
        True,
    )
    assert (goodwill.added, goodwill.already, goodwill.kept) == (
        ("gesture of goodwill",),
        1,
        ("only in the db",),
    )
    assert (feint.created, feint.added) == (True, ("tactical feint",))
    assert again.version is None
    assert not any(f.changed for f in again.framings)
    stats = {s.slug: s for s in await framings.list_with_stats()}
    assert stats["goodwill"].title == "Goodwill"  # an import updates the title
    assert stats["goodwill"].terms == ("goodwill gesture", "only in the db", "gesture of goodwill")
    assert (stats["feint"].title, stats["feint"].terms) == ("Feint", ("tactical feint",))
    row = await db.fetchone("SELECT description, created_by FROM framings WHERE slug = 'feint'")
    assert row is not None
    assert (row["description"], row["created_by"]) == ("A feint", ADMIN)
    assert (await audit_rows(db))[2] == (
        ADMIN,
        "import-pack",
        "pack p.toml: 1 new framings, 1 updated, 2 terms added",
    )
    assert len(await audit_rows(db)) == 3  # the second import changed nothing


async def test_import_pack_over_the_term_limit_imports_nothing(db: Database) -> None:
    framings = FramingRepository(db)
    await framings.add_term("big", "one", "one", MODERATOR, NOW)
    pack = [
        PackFraming("new", "New", None, (("x", "x"),)),
        PackFraming("big", None, None, (("two", "two"), ("three", "three"))),
    ]

    with pytest.raises(TermLimitError, match="big would have 3 terms"):
        await framings.import_pack(pack, ADMIN, NOW, via="pack p.toml", max_terms=2)

    assert [t.text for t in await framings.all_terms()] == ["one"]
    assert not await framings.exists("new")
    assert await framings.rules_version() == 1


async def test_audit_log_is_not_written_when_nothing_changed(db: Database) -> None:
    framings, roles = FramingRepository(db), RoleRepository(db)
    subscribers = SubscriberRepository(db)
    await framings.add_term("feint", "tactical feint", "tactical feint", 7, NOW)
    await subscribers.subscribe(42, NOW)
    before = await audit_rows(db)

    await framings.add_term("feint", "Tactical Feint", "tactical feint", 7, NOW)
    await framings.remove_term("feint", "no such term", 7, NOW)
    await framings.remove_framing("no-such-framing", 7, NOW)
    await roles.revoke(12345, ADMIN, NOW)
    await subscribers.subscribe(42, NOW)
    await subscribers.unsubscribe(43, NOW)

    assert await audit_rows(db) == before


# --- roles ---------------------------------------------------------------------------------


async def test_roles_grant_revoke_and_audit(db: Database) -> None:
    roles = RoleRepository(db)

    assert await roles.grant(20, "moderator", ADMIN, NOW) is None
    assert await roles.grant(10, "analyst", ADMIN, NOW) is None
    assert await roles.grant(30, "moderator", ADMIN, NOW) is None
    assert await roles.role_of(20) == "moderator"
    assert await roles.grant(20, "analyst", 2, NOW + timedelta(hours=1)) == "moderator"

    grants = await roles.all()
    assert [(g.user_id, g.role, g.granted_by) for g in grants] == [
        (10, "analyst", ADMIN),
        (20, "analyst", 2),
        (30, "moderator", ADMIN),
    ]
    assert grants[1].granted_at == NOW + timedelta(hours=1)
    assert grants[1].granted_at.tzinfo is not None

    assert await roles.revoke(20, ADMIN, NOW) == "analyst"
    assert await roles.revoke(20, ADMIN, NOW) is None
    assert await roles.role_of(20) is None
    assert [g.user_id for g in await roles.all()] == [10, 30]
    assert await audit_rows(db) == [
        (ADMIN, "grant", "20: moderator"),
        (ADMIN, "grant", "10: analyst"),
        (ADMIN, "grant", "30: moderator"),
        (2, "grant", "20: analyst"),
        (ADMIN, "revoke", "20: analyst"),
    ]


# --- subscribers and deliveries ------------------------------------------------------------


async def test_subscribe_and_unsubscribe_are_idempotent(db: Database) -> None:
    subscribers = SubscriberRepository(db)

    assert await subscribers.subscribe(42, NOW) is True
    assert await subscribers.subscribe(42, NOW) is False
    assert await subscribers.is_active(42)
    assert await subscribers.count_active() == 1
    assert await subscribers.unsubscribe(42, NOW, note="blocked") is True
    assert await subscribers.unsubscribe(42, NOW) is False
    assert not await subscribers.is_active(42)
    assert await subscribers.count_active() == 0
    assert await subscribers.subscribe(42, NOW + timedelta(days=1)) is True
    row = await db.fetchone("SELECT active, note, subscribed_at FROM subscribers")
    assert row is not None
    assert (row["active"], row["note"]) == (1, "")
    assert row["subscribed_at"] == (NOW + timedelta(days=1)).isoformat()

    assert await audit_rows(db) == [
        (42, "subscribe", ""),
        (42, "unsubscribe", "blocked"),
        (42, "subscribe", ""),
    ]


async def test_due_subscribers(db: Database) -> None:
    subscribers, deliveries = SubscriberRepository(db), DeliveryRepository(db)
    period, end = "2026-11-25", NOW
    # subscribed before the period ended, no delivery yet
    await subscribers.subscribe(1, end - timedelta(days=3))
    # subscribed exactly at the digest time: still due
    await subscribers.subscribe(2, end)
    # subscribed after the digest time: waits for the next period
    await subscribers.subscribe(3, end + timedelta(seconds=1))
    # delivery finished or failed for good: not due again
    for chat_id, status in ((4, "sent"), (5, "failed")):
        await subscribers.subscribe(chat_id, end - timedelta(days=1))
        await deliveries.claim(chat_id, period, ["digest"], end)
        await deliveries.progress(chat_id, period, 1, status, end)
    # a delivery interrupted half-way is still due, so it gets resumed
    await subscribers.subscribe(6, end - timedelta(days=1))
    await deliveries.claim(6, period, ["part 1", "part 2"], end)
    await deliveries.progress(6, period, 1, "pending", end)
    # sent for an earlier period only
    await subscribers.subscribe(7, end - timedelta(days=2))
    await deliveries.claim(7, "2026-11-24", ["old"], end - timedelta(days=1))
    await deliveries.progress(7, "2026-11-24", 1, "sent", end - timedelta(days=1))
    # unsubscribed
    await subscribers.subscribe(8, end - timedelta(days=2))
    await subscribers.unsubscribe(8, end - timedelta(days=1))

    assert await subscribers.due(period, end) == [1, 2, 6, 7]
    assert await subscribers.due("2026-11-24", end - timedelta(days=1)) == [1, 4, 5, 6]


async def test_claimed_delivery_keeps_its_first_messages(db: Database) -> None:
    subscribers, deliveries = SubscriberRepository(db), DeliveryRepository(db)
    await subscribers.subscribe(42, NOW)

    first = await deliveries.claim(42, "2026-11-25", ["one", "two", "three"], NOW)
    assert (first.messages, first.sent_count, first.status) == (
        ("one", "two", "three"),
        0,
        "pending",
    )

    await deliveries.progress(42, "2026-11-25", 2, "pending", NOW)
    resumed = await deliveries.claim(42, "2026-11-25", ["completely", "different"], NOW)
    assert (resumed.messages, resumed.sent_count, resumed.status) == (
        ("one", "two", "three"),
        2,
        "pending",
    )

    await deliveries.progress(42, "2026-11-25", 3, "sent", NOW)
    done = await deliveries.get(42, "2026-11-25")
    assert done is not None
    assert (done.messages, done.sent_count, done.status) == (("one", "two", "three"), 3, "sent")

    other = await deliveries.claim(42, "2026-11-26", ["next day"], NOW)
    assert (other.messages, other.sent_count, other.status) == (("next day",), 0, "pending")
    assert await deliveries.get(42, "2026-11-27") is None


async def test_a_digest_of_full_length_messages_is_kept_once(db: Database) -> None:
    """Three messages of 4,000 letters that do not compress: more than a PostgreSQL B-tree
    entry may hold (its digest_texts key is a hash, storage/pg/migrations/0004)."""
    subscribers, deliveries = SubscriberRepository(db), DeliveryRepository(db)
    letters = "абвгдежзийклмнопрстуфхцчшщыэюя ,.;"
    messages = [
        "".join(letters[(i * 7919 + n * 104729) % len(letters)] for i in range(4000))
        for n in range(3)
    ]
    for chat_id in (41, 42):
        await subscribers.subscribe(chat_id, NOW)
    claimed = await deliveries.claim_many([41, 42], "2026-11-25", messages, NOW)
    again = await deliveries.claim(42, "2026-11-25", ["other"], NOW)

    assert [d.messages for d in claimed] == [tuple(messages)] * 2
    assert again.messages == tuple(messages)
    stored = "SELECT count(*) FROM digest_texts WHERE messages = ?"
    assert await scalar(db, stored, (json.dumps(messages),)) == 1  # once for both


# --- inbox ---------------------------------------------------------------------------------


async def test_inbox_save_offset_order_and_processing(db: Database) -> None:
    inbox = InboxRepository(db)
    assert await inbox.next_offset() is None
    assert await inbox.unprocessed() == []

    assert await inbox.save([InboxUpdate(12, '{"a": 12}'), InboxUpdate(10, '{"a": 10}')], NOW) == 2
    assert await inbox.save([InboxUpdate(10, '{"replayed": 1}'), InboxUpdate(11, "{}")], NOW) == 1
    assert await inbox.next_offset() == 13
    assert await inbox.unprocessed() == [
        InboxUpdate(10, '{"a": 10}'),  # the duplicate did not overwrite the first copy
        InboxUpdate(11, "{}"),
        InboxUpdate(12, '{"a": 12}'),
    ]
    assert [u.update_id for u in await inbox.unprocessed(limit=2)] == [10, 11]

    await inbox.mark_processed(11, NOW, error="ValueError: bad")
    await inbox.mark_processed(10, NOW)
    assert await inbox.unprocessed() == [InboxUpdate(12, '{"a": 12}')]
    row = await db.fetchone("SELECT attempts, error, processed_at FROM inbox WHERE update_id = 11")
    assert row is not None
    assert (row["attempts"], row["error"], row["processed_at"]) == (
        1,
        "ValueError: bad",
        NOW.isoformat(),
    )


async def test_inbox_prune_keeps_unprocessed_recent_and_newest(db: Database) -> None:
    inbox = InboxRepository(db)
    old = NOW - timedelta(days=10)
    await inbox.save([InboxUpdate(i, "{}") for i in (1, 2, 3, 4, 5)], old)
    for update_id in (1, 2, 5):
        await inbox.mark_processed(update_id, old)
    await inbox.mark_processed(4, NOW)  # processed recently
    # 3 is never processed

    assert await inbox.prune(NOW - timedelta(days=1)) == 2  # 1 and 2

    remaining = [r[0] for r in await db.fetchall("SELECT update_id FROM inbox ORDER BY 1")]
    assert remaining == [3, 4, 5]  # 5 is old and processed, but the newest: it keeps the offset
    assert await inbox.next_offset() == 6
    assert [u.update_id for u in await inbox.unprocessed()] == [3]


async def test_inbox_prune_of_everything_keeps_the_newest_row(db: Database) -> None:
    inbox = InboxRepository(db)
    await inbox.save([InboxUpdate(7, "{}"), InboxUpdate(8, "{}")], NOW)
    await inbox.mark_processed(7, NOW)
    await inbox.mark_processed(8, NOW)
    assert await inbox.prune(NOW + timedelta(days=30)) == 1
    assert await inbox.next_offset() == 9


# --- full-text search ----------------------------------------------------------------------


async def store_all(db: Database, texts: list[str]) -> None:
    posts = PostRepository(db)
    for message_id, text in enumerate(texts, 1):
        await posts.store(post(message_id, text, posted_at=NOW - timedelta(hours=message_id)), NOW)


async def test_search_ranks_and_highlights(db: Backend) -> None:
    await store_all(
        db,
        [
            "A long report on many things: weather, markets, sport, roads, schools, and one "
            "mention of a ceasefire somewhere in the middle of all this text about other matters.",
            "Ceasefire now: the ceasefire holds, says the ceasefire monitor.",
            "Markets were calm.",
            "Rain tomorrow.",
            "Football results.",
            "Nothing about it here.",
        ],
    )

    hits = await SearchRepository(db).search("ceasefire")

    assert [h.message_id for h in hits] == [2, 1]
    top = hits[0]
    assert (top.chat_id, top.channel_username, top.channel_title) == (CHANNEL, "news", "News")
    assert top.posted_at == NOW - timedelta(hours=2)
    assert f"{HIGHLIGHT_START}ceasefire{HIGHLIGHT_END} holds" in top.snippet
    assert f"{HIGHLIGHT_START}Ceasefire{HIGHLIGHT_END} now" in top.snippet
    assert top.snippet.count(HIGHLIGHT_START) == top.snippet.count(HIGHLIGHT_END) == 3
    assert f"a {HIGHLIGHT_START}ceasefire{HIGHLIGHT_END} somewhere" in hits[1].snippet
    assert len(await SearchRepository(db).search("ceasefire", limit=1)) == 1


async def test_search_cyrillic_words_and_case(db: Backend) -> None:
    await store_all(
        db,
        [
            "Уход из-под Балаклеи — это ЖЕСТ ДОБРОЙ ВОЛИ, а не поражение.",
            "Знову про «жест доброї волі» в українських каналах.",
            "Погода: дожди.",
        ],
    )
    search = SearchRepository(db)

    russian = await search.search("доброй")
    ukrainian = await search.search("ВОЛІ")

    assert [h.message_id for h in russian] == [1]
    assert f"{HIGHLIGHT_START}ДОБРОЙ{HIGHLIGHT_END}" in russian[0].snippet
    assert [h.message_id for h in ukrainian] == [2]
    assert f"{HIGHLIGHT_START}волі{HIGHLIGHT_END}" in ukrainian[0].snippet


async def test_search_phrase_in_double_quotes(db: Backend) -> None:
    await store_all(
        db,
        [
            "это был жест доброй воли, да",
            "воли нет, доброй ночи",
            "Жест — доброй воли!",
        ],
    )
    search = SearchRepository(db)

    assert {h.message_id for h in await search.search("доброй воли")} == {1, 2, 3}
    phrase = await search.search('"доброй воли"')
    assert sorted(h.message_id for h in phrase) == [1, 3]
    first = next(h for h in phrase if h.message_id == 1)
    # FTS5 marks the phrase as one, ts_headline (PostgreSQL) each of its words.
    marked = first.snippet.replace(f"{HIGHLIGHT_END} {HIGHLIGHT_START}", " ")
    assert f"{HIGHLIGHT_START}доброй воли{HIGHLIGHT_END}" in marked


@pytest.mark.parametrize(
    "query",
    [
        '"unclosed',
        'foo"bar',
        "AND",
        "foo NEAR(",
        "NEAR(a b, x)",
        "col:x",
        "(a",
        "*",
    ],
)
@sqlite_only
async def test_malformed_query_raises_query_syntax_error(db: Database, query: str) -> None:
    await store_all(db, ["some text with foo and bar"])
    with pytest.raises(QuerySyntaxError):
        await SearchRepository(db).search(query)


async def test_over_long_query_is_refused(db: Backend) -> None:
    search = SearchRepository(db)
    await store_all(db, ["word"])
    assert len(await search.search(" ".join(["word"] * (MAX_QUERY_LENGTH // 5)))) == 1
    with pytest.raises(QuerySyntaxError, match=str(MAX_QUERY_LENGTH)):
        await search.search("word " * (MAX_QUERY_LENGTH // 5 + 1))


async def test_edited_post_is_found_by_its_new_text_only(db: Backend) -> None:
    posts, search = PostRepository(db), SearchRepository(db)
    await posts.store(post(text="alpha original words"), NOW)
    await posts.store(post(text="bravo replacement words", edited_at=NOW), NOW)

    assert await search.search("alpha") == []
    assert [h.message_id for h in await search.search("bravo")] == [1]
    assert len(await search.search("words")) == 1  # one post, not one per version

    await posts.store(post(text="alpha original words"), NOW)  # late replay: stale
    assert await search.search("alpha") == []


async def test_scan_state_moves_out_of_the_posts_row_with_its_values(tmp_path: Path) -> None:
    conn = await aiosqlite.connect(tmp_path / "old.db", isolation_level=None)
    old = Database(conn, str(tmp_path / "old.db"))
    try:
        await migrate(old, [f for f in _migration_files() if f[0] < 12])
        async with old.transaction() as sql:  # as a release before 0012 stored them
            await sql.execute(
                "INSERT INTO channels (chat_id, title, added_at, updated_at)"
                " VALUES (-1001, 'A', '', '')"
            )
            await sql.execute(
                "INSERT INTO posts (chat_id, message_id, posted_at, text, stored_at,"
                " needs_scan, scanned_version) VALUES (-1001, 1, 0, 'a', '', 0, 3),"
                " (-1001, 2, 0, 'b', '', 1, 0)"
            )
        await migrate(old)
        state = "SELECT post_id, needs_scan, scanned_version FROM post_scan ORDER BY post_id"
        assert [tuple(r) for r in await old.fetchall(state)] == [(1, 0, 3), (2, 1, 0)]
        columns = {r[1] for r in await old.fetchall("PRAGMA table_info(posts)")}
        assert not columns & {"needs_scan", "scanned_version"}  # one truth, in post_scan
        matches = MatchRepository(old)
        assert [p.post_id for p in await matches.posts_needing_scan(10)] == [2]
        assert [p.post_id for p in await matches.posts_after(0, 10, 4)] == [1]
        async with old.transaction() as sql:  # an edit and a new post are queued by trigger
            await sql.execute("UPDATE posts SET text = 'a2' WHERE id = 1")
            await sql.execute(
                "INSERT INTO posts (chat_id, message_id, posted_at, text, stored_at)"
                " VALUES (-1001, 3, 0, 'c', '')"
            )
        assert [p.post_id for p in await matches.posts_needing_scan(10)] == [1, 2, 3]
    finally:
        await conn.close()
