"""Search ranks a query's matches by relevance, unless it matches RANKED_WINDOW posts or more:
then it lists the most recent of the newest stored ones, so a very common word stays fast.
On SQLite (bm25) and PostgreSQL (ts_rank): `db` is tests.backends.any_db."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.backend import Backend
from storage.posts import PostRepository
from storage.search import RANKED_WINDOW, SearchRepository
from tests.test_storage import NOW, post

FILLER = "a long report on weather, markets, sport, roads and schools, with one ceasefire in it"
BEST = "Ceasefire, ceasefire, ceasefire."


@pytest.fixture
def db(any_db: Backend) -> Backend:
    return any_db


async def store(db: Backend, texts: list[str]) -> None:
    """Post i (from 1) was posted i minutes before NOW: the later stored, the older."""
    await PostRepository(db).store_many(
        [post(i, text, posted_at=NOW - timedelta(minutes=i)) for i, text in enumerate(texts, 1)],
        NOW,
    )


async def test_fewer_matches_than_the_window_are_ranked_by_relevance(db: Backend) -> None:
    await store(db, [*[FILLER] * 50, BEST])
    hits = await SearchRepository(db).search("ceasefire", limit=5)
    assert [h.message_id for h in hits] == [51, 1, 2, 3, 4]  # the best, then equals by date


async def test_a_query_with_more_matches_lists_the_most_recent_of_the_newest_stored(
    db: Backend,
) -> None:
    total = RANKED_WINDOW + 100
    texts = [FILLER] * total
    texts[0] = texts[-1] = BEST  # stored first (the most recent post) and stored last
    await store(db, texts)
    hits = await SearchRepository(db).search("ceasefire", limit=10)
    # The newest stored RANKED_WINDOW posts are 101..1100; the most recent of them first.
    assert [h.message_id for h in hits] == list(range(101, 111))
    # A narrower query is ranked again, and reaches the older one.
    narrow = await SearchRepository(db).search('"ceasefire, ceasefire"')
    assert [h.message_id for h in narrow] == [1, total]
