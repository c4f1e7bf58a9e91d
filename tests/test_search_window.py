"""Search ranks the newest RANKED_WINDOW matches only, so a very common word stays fast."""

from __future__ import annotations

from storage.db import Database
from storage.posts import PostRepository
from storage.search import RANKED_WINDOW, SearchRepository
from tests.test_storage import NOW, post

FILLER = "a long report on weather, markets, sport, roads and schools, with one ceasefire in it"


async def store(db: Database, texts: list[str]) -> None:
    await PostRepository(db).store_many(
        [post(message_id, text) for message_id, text in enumerate(texts, 1)], NOW
    )


async def test_the_best_match_is_found_when_fewer_posts_match_than_the_window(
    db: Database,
) -> None:
    await store(db, ["Ceasefire, ceasefire, ceasefire.", *[FILLER] * 50])
    hits = await SearchRepository(db).search("ceasefire", limit=5)
    assert len(hits) == 5 and hits[0].message_id == 1


async def test_a_word_in_more_posts_than_the_window_ranks_the_newest_stored(
    db: Database,
) -> None:
    newest_best = RANKED_WINDOW + 100
    texts = [FILLER] * newest_best
    texts[0] = texts[-1] = "Ceasefire, ceasefire, ceasefire."  # the oldest and the newest
    await store(db, texts)
    hits = await SearchRepository(db).search("ceasefire", limit=10)
    assert len(hits) == 10 and hits[0].message_id == newest_best
    assert all(h.message_id > newest_best - RANKED_WINDOW for h in hits)  # outside: not ranked
    # A narrower query reaches the older one.
    narrow = await SearchRepository(db).search('"ceasefire, ceasefire"')
    assert {h.message_id for h in narrow} == {1, newest_best}
