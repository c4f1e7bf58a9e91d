"""A NUL character in a post or a title (an export file or a page may carry one) is removed
before the post is stored, on both databases: PostgreSQL's text cannot hold it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from storage.backend import Backend
from storage.posts import PostRepository
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
