"""Set-wise storing of posts (storage/posts.py over storage.dialect.value_rows), on SQLite
and on PostgreSQL: one INSERT ... SELECT for a batch's new posts keeps the ids, the order and
the versions that storing one by one gives, and re-storing unchanged posts rewrites none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.backend import Backend
from storage.models import IncomingPost, StoreOutcome
from storage.posts import PostRepository

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
A, B = -1001000000001, -1001000000002


@pytest.fixture
def db(any_db: Backend) -> Backend:
    return any_db


def post(chat_id: int, message_id: int, text: str, **details: object) -> IncomingPost:
    return IncomingPost(
        chat_id=chat_id,
        message_id=message_id,
        posted_at=NOW - timedelta(minutes=message_id),
        text=text,
        channel_title=f"Channel {chat_id}",
        channel_username=None,
        **details,  # type: ignore[arg-type]
    )


async def rows(db: Backend) -> list[tuple[object, ...]]:
    return await db.fetch_tuples(
        "SELECT id, chat_id, message_id, text, views, author, media, reply_to FROM posts"
        " ORDER BY id"
    )


async def post_writes(db: Backend) -> object:
    """Something that changes whenever a posts row is written: on PostgreSQL the rows'
    xmin (the writing transaction), on SQLite a temporary trigger's count."""
    if db.dialect.is_sqlite:
        return await db.fetchval("SELECT count(*) FROM temp.post_writes")
    return await db.fetch_tuples("SELECT id, xmin::text FROM posts ORDER BY id")


async def count_post_writes(db: Backend) -> None:
    if db.dialect.is_sqlite:
        async with db.atomic() as tx:
            await tx.execute("CREATE TEMP TABLE post_writes (post_id INTEGER)")
            await tx.execute(
                "CREATE TEMP TRIGGER posts_written AFTER UPDATE ON main.posts"
                " BEGIN INSERT INTO post_writes VALUES (new.id); END"
            )


def batch() -> list[IncomingPost]:
    """Two channels interleaved, message ids out of order, details and odd texts."""
    return [
        post(A, 5, "пятый", views=10, author="Ann"),
        post(B, 1, "first of B", media="photo"),
        post(A, 2, "второй 'quoted' \"double\" \\ back", reply_to=5),
        post(B, 7, "emoji 🛰 and\nnewline", views=0),
        post(A, 9, ""),
    ]


async def test_a_batch_gets_the_ids_and_rows_one_by_one_gives(db: Backend) -> None:
    repo = PostRepository(db)
    results = await repo.store_many(batch(), NOW)

    assert [r.outcome for r in results] == [StoreOutcome.NEW] * 5
    ids = [r.post_id for r in results]
    assert ids == sorted(ids) and len(set(ids)) == 5  # list order, as one by one
    assert await rows(db) == [
        (ids[0], A, 5, "пятый", 10, "Ann", None, None),
        (ids[1], B, 1, "first of B", None, None, "photo", None),
        (ids[2], A, 2, "второй 'quoted' \"double\" \\ back", None, None, None, 5),
        (ids[3], B, 7, "emoji 🛰 and\nnewline", 0, None, None, None),
        (ids[4], A, 9, "", None, None, None, None),
    ]
    # The next batch continues after them, mixing new and stored posts.
    more = await repo.store_many([post(A, 5, "пятый"), post(A, 10, "new")], NOW)
    assert [(r.post_id, r.outcome) for r in more] == [
        (ids[0], StoreOutcome.UNCHANGED),
        (ids[4] + 1, StoreOutcome.NEW),
    ]


async def test_edits_in_a_batch_keep_versions_in_order(db: Backend) -> None:
    repo = PostRepository(db)
    first = await repo.store_many(batch(), NOW)
    later = NOW + timedelta(hours=1)
    edited = [
        post(A, 2, "второй, исправлен", edited_at=later),
        post(B, 1, "first of B"),  # unchanged
        post(A, 5, "пятый v2", edited_at=later, views=11),
        post(A, 2, "второй, ещё раз", edited_at=later + timedelta(minutes=1)),  # repeat
    ]
    results = await repo.store_many(edited, later)

    assert [r.outcome for r in results] == [
        StoreOutcome.EDITED,
        StoreOutcome.UNCHANGED,
        StoreOutcome.EDITED,
        StoreOutcome.EDITED,
    ]
    assert await repo.versions(A, 2) == [
        "второй 'quoted' \"double\" \\ back",
        "второй, исправлен",
    ]
    assert await repo.versions(A, 5) == ["пятый"]
    assert await repo.text_of(A, 2) == "второй, ещё раз"
    stored = {r[0]: r for r in await rows(db)}
    assert stored[first[0].post_id][3:5] == ("пятый v2", 11)


async def test_restoring_unchanged_posts_writes_no_post(db: Backend) -> None:
    repo = PostRepository(db)
    await repo.store_many(batch(), NOW)
    await count_post_writes(db)
    before = await post_writes(db)

    again = await repo.store_many(
        [*batch(), post(A, 5, "пятый", views=None, author=None)], NOW + timedelta(hours=1)
    )

    assert {r.outcome for r in again} == {StoreOutcome.UNCHANGED}
    assert await post_writes(db) == before
    # A detail that changed is written, and only it.
    await repo.store_many([post(A, 5, "пятый", views=12)], NOW + timedelta(hours=2))
    assert await post_writes(db) != before
    assert (await rows(db))[0][4:6] == (12, "Ann")


async def test_searches_are_planned_with_their_values_and_nothing_else_is(
    any_db: Backend,
) -> None:
    """A generic plan (asyncpg reuses prepared statements) reads a rare word's search as a
    whole-table walk: planned_reads() plans each run with its values. Only there: on the
    whole pool it re-planned the triggers' statements on every row (a scan's server CPU
    more than doubled). SQLite plans with the values anyway: planned_reads is the database."""
    async with any_db.planned_reads() as reader:
        assert await reader.fetchval("SELECT count(*) FROM posts") == 0
        if not any_db.dialect.is_sqlite:
            assert await reader.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
    if any_db.dialect.is_sqlite:
        assert reader is any_db
        return
    assert await any_db.fetchval("SHOW plan_cache_mode") == "auto"
    async with any_db.atomic() as tx:
        assert await tx.fetchval("SHOW plan_cache_mode") == "auto"
        # and small statements stay serial: starting parallel workers cost more than a search
        assert float(await tx.fetchval("SHOW parallel_setup_cost")) >= 20000


async def test_a_digest_text_is_looked_up_by_its_hash_on_postgresql(any_db: Backend) -> None:
    """digest_texts is keyed by the text's SHA-256 on PostgreSQL (migration 0004): the
    lookup uses that index, not a read of the table; the same row on both."""
    from storage.subscribers import DeliveryRepository

    deliveries = DeliveryRepository(any_db)
    async with any_db.atomic() as tx:
        await tx.executemany(
            "INSERT INTO subscribers (chat_id, active, subscribed_at, updated_at)"
            " VALUES (?, 1, ?, ?)",
            [(chat, NOW.isoformat(), NOW.isoformat()) for chat in (1, 2, 3)],
        )
    long = ["x" * 4000, "y" * 4000]
    first = await deliveries.claim_many([1, 2], "2026-11-25", long, NOW)
    again = await deliveries.claim_many([3], "2026-11-25", long, NOW)
    assert [d.messages for d in first + again] == [tuple(long)] * 3
    assert await any_db.fetchval("SELECT count(*) FROM digest_texts") == 1
    if any_db.dialect.is_sqlite:
        return
    async with any_db.atomic() as tx:
        await tx.execute("SET LOCAL enable_seqscan = off")  # a table of one row: show intent
        plan = "\n".join(
            r[0]
            for r in await tx.fetchall(
                "EXPLAIN SELECT id FROM digest_texts WHERE " + tx.dialect.same_text("messages"),
                ["[]"],
            )
        )
    assert "digest_texts_messages_sha256" in plan
