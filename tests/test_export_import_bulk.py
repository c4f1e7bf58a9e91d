"""PostRepository.store_many (the import's batched path) against store (the live path):
for the same posts in the same order, the same outcomes and the same rows, everywhere."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage.db import Database, open_database
from storage.models import IncomingPost, StoreResult
from storage.posts import PostRepository
from storage.trend_store import add_trend_posts_sql

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BASE = datetime(2026, 11, 1, tzinfo=UTC)
CHANNELS = [-1001, -1002, -1003]


def random_post(rng: random.Random) -> IncomingPost:
    """A post that is often one already seen: same, edited, older, with other details."""
    chat_id = rng.choice(CHANNELS)
    edited = rng.choice([None, None, 100, 200, 300])
    return IncomingPost(
        chat_id=chat_id,
        message_id=rng.randint(1, 12),
        posted_at=BASE,
        edited_at=BASE + timedelta(seconds=edited) if edited else None,
        text=rng.choice(["жест доброй воли", "перегруппировка", "third, text", ""]),
        channel_title=rng.choice(["", f"Title {chat_id}", f"Renamed {chat_id}"]),
        channel_username=rng.choice([None, None, f"name{-chat_id}", f"new{-chat_id}"]),
        source=rng.choice(["bot", "import", "web"]),
        views=rng.choice([None, rng.randint(1, 1000)]),
        author=rng.choice([None, "Author"]),
        forwarded_from=rng.choice([None, "Origin"]),
        reply_to=rng.choice([None, 1, 2]),
        media=rng.choice([None, "photo", "video"]),
    )


async def fresh(path: Path) -> Database:
    """A database with a framing, a term and a match on post (−1001, 1) with its trend row,
    so that an edit has matches (and trend_posts rows) to drop."""
    db = await open_database(path)
    repo = PostRepository(db)
    first = IncomingPost(-1001, 1, BASE, "жест доброй воли", "Alpha", "alpha")
    stored = await repo.store(first, NOW)
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO framings (id, slug, title, created_at) VALUES (1, 'gg', 'GG', ?)",
            (NOW.isoformat(),),
        )
        await conn.execute(
            "INSERT INTO terms (id, framing_id, text, key, created_at)"
            " VALUES (1, 1, 'жест доброй воли', 'жест доброй воли', ?)",
            (NOW.isoformat(),),
        )
        await conn.execute(
            "INSERT INTO matches (post_id, term_id, framing_id, start_pos, end_pos, matched_at)"
            " VALUES (?, 1, 1, 0, 16, ?)",
            (stored.post_id, NOW.isoformat()),
        )
        await conn.execute(*add_trend_posts_sql(db.dialect, [stored.post_id]))
        await conn.execute("UPDATE post_scan SET needs_scan = 0")
    return db


async def dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    tables = ("channels", "posts", "post_versions", "matches", "trend_posts")
    dumped = {
        t: [tuple(r) for r in await db.fetchall(f"SELECT * FROM {t} ORDER BY 1, 2")] for t in tables
    }
    dumped["fts"] = [
        tuple(r) for r in await db.fetchall("SELECT rowid, text FROM posts_fts ORDER BY 1")
    ]
    return dumped


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    one, many = await fresh(tmp_path / "one.db"), await fresh(tmp_path / "many.db")
    yield one, many
    await one.close()
    await many.close()


@pytest.mark.parametrize("seed", range(8))
async def test_store_many_agrees_with_store_one_by_one(
    pair: tuple[Database, Database], seed: int
) -> None:
    one, many = pair
    rng = random.Random(seed)
    posts = [random_post(rng) for _ in range(300)]

    singly: list[StoreResult] = [await PostRepository(one).store(p, NOW) for p in posts]
    batched: list[StoreResult] = []
    start = 0
    while start < len(posts):
        size = rng.randint(1, 60)  # batches with repeated keys, and single posts
        batched += await PostRepository(many).store_many(posts[start : start + size], NOW)
        start += size

    assert batched == singly
    assert {r.outcome for r in singly} == {"new", "edited", "unchanged", "stale"}
    assert await dump(many) == await dump(one)
    for db in (one, many):  # the full-text index agrees with the posts it indexes
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO posts_fts(posts_fts) VALUES ('integrity-check')")


async def test_an_edit_in_a_batch_drops_the_old_matches(pair: tuple[Database, Database]) -> None:
    _, many = pair
    edit = IncomingPost(-1001, 1, BASE, "другой текст", "Alpha", "alpha", edited_at=NOW)
    results = await PostRepository(many).store_many([edit], NOW)
    assert [r.outcome for r in results] == ["edited"]
    assert await many.fetchval("SELECT count(*) FROM matches") == 0
    assert await PostRepository(many).versions(-1001, 1) == ["жест доброй воли"]


async def test_store_many_of_nothing(pair: tuple[Database, Database]) -> None:
    _, many = pair
    assert await PostRepository(many).store_many([], NOW) == []
