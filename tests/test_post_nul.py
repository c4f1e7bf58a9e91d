"""A NUL character in a post or a title (an export file or a page may carry one) is removed
before the post is stored, on both databases: PostgreSQL's text cannot hold it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from storage.backend import Backend
from storage.framings import FramingRepository
from storage.packs import PackFraming
from storage.posts import ChannelRepository, PostRepository
from tests.test_storage import NOW, OTHER_CHANNEL, post


@pytest.fixture
def db(any_db: Backend) -> Backend:
    return any_db


async def test_nul_is_removed_before_storing(db: Backend) -> None:
    posts = PostRepository(db)
    hostile = replace(
        post(1, "жест\x00доброй воли", title="News\x00", username="news"),
        author="a\x00b",
        forwarded_from="\x00",
    )
    clean = post(2, "a plain post", chat_id=OTHER_CHANNEL, username="other")

    results = await posts.store_many([hostile, clean], NOW)

    assert [r.outcome for r in results] == ["new", "new"]
    text = await posts.text_of(hostile.chat_id, 1)
    assert text == "жестдоброй воли"
    row = await db.fetchone(
        "SELECT p.author, p.forwarded_from, c.title FROM posts p"
        " JOIN channels c ON c.chat_id = p.chat_id WHERE p.message_id = 1"
    )
    assert row is not None and tuple(row) == ("ab", "", "News")
    assert await posts.text_of(clean.chat_id, 2) == "a plain post"
    # The same post again is the same text: unchanged, not an edit.
    assert [r.outcome for r in await posts.store_many([hostile], NOW)] == ["unchanged"]


async def test_nul_is_removed_from_channel_titles_and_framing_packs(db: Backend) -> None:
    """The bot added to a channel whose title holds a NUL, a channel first seen through a
    post, a pack whose framing title holds one: stored without it (PostgreSQL refused
    the whole write before)."""
    channels = ChannelRepository(db)
    await channels.set_membership(-1001, "a\x00b", "Ch\x00an", True, NOW, added_by=1)
    assert await channels.approvals.ensure_known(-1002, None, "Pen\x00ding", NOW)
    pack = [PackFraming("nul", "Ti\x00tle", "De\x00scribed", (("goodwill", "goodwill"),))]
    await FramingRepository(db).import_pack(pack, None, NOW, "test", 500)

    rows = await db.fetch_tuples("SELECT chat_id, username, title FROM channels ORDER BY chat_id")
    assert rows == [(-1002, None, "Pending"), (-1001, "ab", "Chan")]
    framing = await db.fetchone("SELECT title, description FROM framings WHERE slug = 'nul'")
    assert framing is not None and tuple(framing) == ("Title", "Described")
