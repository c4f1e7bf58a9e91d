"""storage/exports.py on SQLite and on PostgreSQL (`db` is tests.backends.any_db): posts and
matches read page by page with their filters, and channels found by id, name or title.
The command around it (`framewatch export`, Harness-based) is in tests/test_exports.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.framings import check_new_term
from bot.scan import run_scan
from storage.backend import Backend
from storage.exports import ExportRepository
from storage.framings import FramingRepository
from storage.matches import MatchRepository
from storage.posts import PostRepository
from tests.conftest import FakeClock
from tests.test_storage import CHANNEL, NOW, OTHER_CHANNEL, post

SLUG = "goodwill"


@pytest.fixture
def db(any_db: Backend) -> Backend:
    return any_db


async def fill(db: Backend) -> None:
    """Five posts (3 in @news, 2 in @other), one edited twice, and the matches of a term."""
    posts = PostRepository(db)
    texts = ["Это жест доброй воли.", "Погода.", "Снова жест доброй воли, и ещё раз"]
    await posts.store_many(
        [post(i, t, posted_at=NOW - timedelta(days=i)) for i, t in enumerate(texts, 1)], NOW
    )
    other = {"chat_id": OTHER_CHANNEL, "username": "Other", "title": "Other Channel"}
    await posts.store_many(
        [
            post(1, "Жест доброй воли!", posted_at=NOW - timedelta(days=5), **other),  # type: ignore[arg-type]
            post(2, "first", posted_at=NOW - timedelta(days=6), **other),  # type: ignore[arg-type]
        ],
        NOW,
    )
    for text in ("second", "third"):
        edit = post(2, text, posted_at=NOW - timedelta(days=6), edited_at=NOW, **other)  # type: ignore[arg-type]
        await posts.store(edit, NOW)
    framings = FramingRepository(db)
    term = check_new_term("жест доброй воли")
    await framings.add_term(SLUG, term.text, term.key, 1, NOW)
    await run_scan(framings, MatchRepository(db), FakeClock(NOW))


async def test_posts_are_read_page_by_page_with_filters(db: Backend) -> None:
    await fill(db)
    exports = ExportRepository(db)
    every = [p async for p in exports.posts(None, None, page_size=2)]
    assert [(p.chat_id, p.message_id) for p in every] == [
        (CHANNEL, 1), (CHANNEL, 2), (CHANNEL, 3), (OTHER_CHANNEL, 1), (OTHER_CHANNEL, 2),
    ]  # fmt: skip
    edited = every[-1]
    assert (edited.text, edited.versions, edited.edited_at) == ("third", 2, NOW)
    assert (edited.channel_username, edited.channel_title) == ("Other", "Other Channel")
    assert every[0].posted_at == NOW - timedelta(days=1) and every[0].edited_at is None
    assert every[0].source == "bot" and every[0].views is None
    one = [p.message_id async for p in exports.posts(OTHER_CHANNEL, None, page_size=1)]
    assert one == [1, 2]
    recent = [p.message_id async for p in exports.posts(CHANNEL, NOW - timedelta(days=2))]
    assert recent == [1, 2]


async def test_matches_are_read_page_by_page_with_their_text(db: Backend) -> None:
    await fill(db)
    exports = ExportRepository(db)
    every = [m async for m in exports.matches(None, None, page_size=1)]
    assert [(m.chat_id, m.message_id) for m in every] == [
        (CHANNEL, 1), (CHANNEL, 3), (OTHER_CHANNEL, 1),
    ]  # fmt: skip
    assert {m.matched_text for m in every} == {"жест доброй воли", "Жест доброй воли"}
    first = every[0]
    assert (first.start, first.end, first.framing_slug) == (4, 20, SLUG)
    assert first.term == "жест доброй воли" and first.verdict is None
    assert not first.channel_watchdog
    assert [m.message_id async for m in exports.matches(SLUG, NOW - timedelta(days=4))] == [1, 3]
    assert [m async for m in exports.matches("other-slug", None)] == []


async def test_channels_are_found_by_id_name_or_title(db: Backend) -> None:
    await fill(db)
    exports = ExportRepository(db)
    by_id = await exports.find_channels([OTHER_CHANNEL, 42], None, "")
    assert [c.chat_id for c in by_id] == [OTHER_CHANNEL]
    by_name = await exports.find_channels([], "other", "")
    assert [(c.chat_id, c.username) for c in by_name] == [(OTHER_CHANNEL, "Other")]
    by_title = await exports.find_channels([], None, "OTHER CHANNEL")  # ASCII: SQLite's lower()
    assert [c.title for c in by_title] == ["Other Channel"]
    assert await exports.find_channels([], "nobody", "nothing") == []
