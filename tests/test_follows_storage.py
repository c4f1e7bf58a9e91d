"""storage.follows by itself, on SQLite and on PostgreSQL (tests.backends.any_db); the poller's
use of it is tests/test_poller.py (both databases too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.backend import Backend
from storage.chat_ids import synthetic_chat_id
from storage.follows import FollowRepository
from storage.models import IncomingPost
from storage.posts import ChannelRepository, PostRepository

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Every test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


async def follow(follows: FollowRepository, username: str, chat_id: int) -> bool:
    return await follows.add(
        username=username,
        chat_id=chat_id,
        channel_username=username,
        title=username.title(),
        user_id=7,
        now=NOW,
        next_poll_at=LATER,
        backfill_before=50,
        backfill_left=-3,
    )


async def test_add_remove_and_the_poll_record(db: Backend) -> None:
    follows = FollowRepository(db)
    synthetic = synthetic_chat_id("fw_one")
    assert await follow(follows, "FW_One", synthetic)
    assert not await follow(follows, "fw_one", synthetic)  # followed already
    added = await follows.get("fw_one")
    assert added is not None
    assert (added.chat_id, added.title, added.backfill_left, added.post_count) == (
        synthetic,
        "Fw_One",
        0,  # never negative
        0,
    )
    assert await follows.due(NOW) == []
    assert [f.username for f in await follows.due(LATER)] == ["fw_one"]

    await follows.record_poll(
        "fw_one",
        now=LATER,
        next_poll_at=LATER + timedelta(hours=1),
        state="error",
        error="HTTP 500",
        failures=1,
    )
    failed = await follows.get("fw_one")
    assert failed is not None
    assert (failed.state, failed.last_error, failed.failures) == ("error", "HTTP 500", 1)
    assert (failed.last_poll_at, failed.last_ok_at) == (LATER, NOW)  # the last success stays
    await follows.record_poll(
        "fw_one", now=LATER, next_poll_at=LATER, state="ok", error=None, failures=0
    )
    recovered = await follows.get("fw_one")
    assert recovered is not None and recovered.last_ok_at == LATER

    await follows.set_backfill("fw_one", None, -1)
    after = await follows.get("fw_one")
    assert after is not None and (after.backfill_before, after.backfill_left) == (None, 0)

    assert await follows.remove("FW_ONE", 7, NOW)
    assert not await follows.remove("fw_one", 7, NOW)
    assert await follows.all() == []
    rows = await db.fetchall("SELECT user_id, action, detail FROM audit_log ORDER BY id")
    assert [tuple(r) for r in rows] == [(7, "follow", "@fw_one"), (7, "unfollow", "@fw_one")]


async def test_known_ids_stored_sources_and_adoption(db: Backend) -> None:
    follows, channels, posts = FollowRepository(db), ChannelRepository(db), PostRepository(db)
    synthetic = synthetic_chat_id("fw_two")
    assert await follows.known_chat_id("fw_two") is None
    assert await follow(follows, "fw_two", synthetic)
    assert await follows.known_chat_id("FW_TWO") == synthetic
    for message_id in (1, 2, 3):
        source = "web" if message_id < 3 else "import"
        post = IncomingPost(synthetic, message_id, NOW, f"post {message_id}", "Two", source=source)
        await posts.store(post, NOW)
    assert await follows.stored_sources(synthetic, [3, 1, 9]) == {1: "web", 3: "import"}
    assert await follows.stored_sources(synthetic, []) == {}
    assert await follows.newest_message_id(synthetic) == 3
    assert await follows.newest_message_id(-1) is None

    await channels.set_membership(-1002, "fw_two", "Two", True, NOW)
    assert await follows.known_chat_id("fw_two") == -1002  # a real id first
    await posts.store(IncomingPost(-1002, 3, NOW, "post 3, seen by the bot", "Two"), NOW)
    with pytest.raises(ValueError, match="cannot move"):
        await follows.adopt("fw_two", -1002, synthetic, NOW)

    assert await follows.adopt("fw_two", synthetic, -1002, NOW) == 2  # 3 was there already
    assert await follows.adopt("fw_two", synthetic, -1002, NOW) == 0  # nothing left to move
    moved = await follows.get("fw_two")
    assert moved is not None and (moved.chat_id, moved.post_count) == (-1002, 3)
    assert await posts.text_of(-1002, 3) == "post 3, seen by the bot"
    assert await follows.known_chat_id("fw_two") == -1002
    assert await db.fetchval("SELECT count(*) FROM posts WHERE chat_id = ?", (synthetic,)) == 0
