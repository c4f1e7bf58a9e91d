"""Issue 12: search finds the same posts on PostgreSQL (tsquery over tsvector columns with
GIN indexes) as on SQLite (FTS5 MATCH), from one parsed query (bot/search_query.py renders
both). The same posts are stored in both databases; each query must find the same SET of
posts on both, the set expected, and the same order where the ranking is unambiguous.
ts_rank and ts_headline differ from bm25 and snippet() otherwise: order among near-equals
and snippets are not compared."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.lemma_index import index_queued
from bot.search import search_posts
from bot.search_query import parse_search, render, render_tsquery
from storage.backend import Backend
from storage.db import open_backend
from storage.lemma_index import LemmaIndexRepository
from storage.posts import ChannelRepository, PostRepository
from storage.search import SearchRepository
from tests.test_storage import NOW, OTHER_CHANNEL, post

UTC_ZONE = ZoneInfo("UTC")
# Post i (from 1) is posted i days before NOW; 5 and 11 in the channel @other.
TEXTS = [
    "Преступления киевского режима продолжаются.",  # 1
    "Росія назвала це жестом доброї волі.",  # 2
    "Troop withdrawals were announced.",  # 3
    "Погода сегодня хорошая.",  # 4
    "Киевский режим снова обстрелял город.",  # 5 (@other)
    "Жест доброй воли: отступление или перегруппировка?",  # 6
    "Это был жест, но не доброй воли.",  # 7
    "Українські військові відступили з позицій.",  # 8
    "Перегруппировка войск под Херсоном, режим молчит.",  # 9
    "Режимы меняются, а киевская хунта остаётся.",  # 10
    "Режим, режим, режим: режим повсюду.",  # 11 (@other)
    "It's a withdrawal, not a retreat.",  # 12
]
LATER = ["Войска вышли из-под Балаклеи.", "Читайте t.me/rian_ru, café в 3.5 км."]
OTHER = {5, 11}
SINCE = (NOW - timedelta(days=6)).date()  # posts 1..6
# (query, the posts it finds): every kind of query the /search language has.
QUERIES: list[tuple[str, set[int]]] = [
    ("режим", {1, 5, 9, 10, 11}),  # every inflected form
    ("режимы", {1, 5, 9, 10, 11}),
    ("киевский режим", {1, 5, 10}),  # all words, any form, any order
    ('"киевского режима"', {1}),  # a quoted phrase keeps its forms
    ('"киевский режим"', {5}),
    ("жест доброй воли", {6, 7}),
    ("жест доброї волі", {2}),  # Ukrainian forms
    ("відступити", {8}),
    ("withdrawal", {3, 12}),  # English stems
    ("жест OR перегруппировка", {2, 6, 7, 9}),
    ("жест NOT отступление", {2, 7}),
    ("(жест OR режим) NOT (киевский OR доброй)", {2, 9, 11}),
    ("перегруп*", {6, 9}),  # a prefix
    ('"доброй во"*', {6, 7}),  # a phrase ending in a prefix
    ('"доброй воли"', {6, 7}),
    ('"воли доброй"', set()),  # a phrase keeps its order
    ("режим channel:@other", {5, 11}),  # filters
    (f"режим since:{SINCE}", {1, 5}),
    (f"жест OR режим since:{SINCE} channel:@news", {1, 2, 6}),
    ("it's", {12}),
    ("хунта AND киевский", {10}),
    ("погода", {4}),
    ("нетакогослова", set()),
]


async def _fill(db: Backend) -> None:
    posts = [
        post(
            i,
            text,
            posted_at=NOW - timedelta(days=i),
            **({"chat_id": OTHER_CHANNEL, "username": "other", "title": "O"} if i in OTHER else {}),  # type: ignore[arg-type]
        )
        for i, text in enumerate(TEXTS, 1)
    ]
    await PostRepository(db).store_many(posts, NOW)
    await ChannelRepository(db).set_watchdog(OTHER_CHANNEL, True, None, NOW)


@pytest.fixture
async def both(tmp_path: Path, pg_url: str) -> AsyncIterator[tuple[Backend, Backend]]:
    sqlite = await open_backend(tmp_path / "framewatch.db")
    try:
        pg = await open_backend(pg_url)
        try:
            for db in (sqlite, pg):
                await _fill(db)
            yield sqlite, pg
        finally:
            await pg.close()
    finally:
        await sqlite.close()


async def _found(db: Backend, query: str, limit: int = 50) -> list[int]:
    result = await search_posts(SearchRepository(db), query, UTC_ZONE, limit)
    return [hit.message_id for hit in result.hits]


async def test_every_query_finds_the_same_posts_on_both(both: tuple[Backend, Backend]) -> None:
    sqlite, pg = both
    for db in both:
        assert await index_queued(LemmaIndexRepository(db)) == len(TEXTS)
    for query, expected in QUERIES:
        on_sqlite, on_pg = await _found(sqlite, query), await _found(pg, query)
        assert set(on_sqlite) == expected, f"{query!r} on SQLite"
        assert set(on_pg) == expected, f"{query!r} on PostgreSQL"
        assert len(on_pg) == len(set(on_pg)), f"{query!r}: a post twice"
    # Where ranking is clear, the order is the same: the densest post first; equal posts
    # (one match each, same length) newest first.
    for query in ("режим", "режим watchdog:only"):
        on_sqlite, on_pg = await _found(sqlite, query), await _found(pg, query)
        assert on_sqlite[0] == on_pg[0] == 11, query
    assert await _found(sqlite, "жест доброй воли") == await _found(pg, "жест доброй воли")
    assert await _found(sqlite, "погода OR хунта") == await _found(pg, "погода OR хунта")


async def test_posts_not_yet_lemma_indexed_are_found_by_exact_forms_on_both(
    both: tuple[Backend, Backend],
) -> None:
    sqlite, pg = both
    for db in both:  # 7..12 indexed (newest ids first), 1..6 still queued, then 13, 14
        assert await index_queued(LemmaIndexRepository(db), batch=6, max_batches=1) == 6
        await PostRepository(db).store_many([post(i, t) for i, t in enumerate(LATER, 13)], NOW)
    queued_side = [
        ("режима", {1, 9, 10, 11}),  # 1 by its form (queued), 9..11 by lemma (indexed)
        ("режим", {5, 9, 10, 11}),  # 1 holds another form and is queued
        ('"доброй воли"', {6, 7}),
        ("жест NOT отступление", {7}),  # 2 ("жестом") is queued: exact forms only
        ("киевск*", {1, 5, 10}),
        ("режим channel:@other", {5, 11}),
        ('"вышли из"', {13}),  # words split as FTS5's unicode61 splits them
        ('"из под балаклеи"', {13}),
        ('"rian ru"', {14}),
        ("cafe", {14}),  # Latin accents removed, as FTS5 does
        ('"café"', {14}),
        ("3", {14}),
    ]
    for query, expected in queued_side:
        assert set(await _found(sqlite, query)) == expected, f"{query!r} on SQLite"
        assert set(await _found(pg, query)) == expected, f"{query!r} on PostgreSQL"


async def test_a_limit_keeps_the_best_on_both(both: tuple[Backend, Backend]) -> None:
    sqlite, pg = both
    for db in both:
        await index_queued(LemmaIndexRepository(db))
    assert await _found(sqlite, "режим", limit=1) == await _found(pg, "режим", limit=1) == [11]


async def test_raw_search_finds_the_same_posts_on_both(both: tuple[Backend, Backend]) -> None:
    """SearchRepository.search: FTS5 syntax on SQLite, web-search syntax on PostgreSQL;
    plain words and quoted phrases read the same in both."""
    for query, expected in [
        ("режим", {5, 9, 11}),  # exact forms: not "режима", "режимы"
        ("доброй воли", {6, 7}),
        ('"доброй воли"', {6, 7}),
        ('"воли доброй"', set()),
        ("withdrawal", {12}),
    ]:
        for db in both:
            hits = await SearchRepository(db).search(query, limit=50)
            assert {h.message_id for h in hits} == expected, f"{query!r} on {db.dialect.name}"


def test_the_tsquery_is_rendered_from_the_same_tree_as_the_fts5_expression() -> None:
    query = parse_search('(жест OR "доброй воли") NOT перегруп* режим')
    # Bare words by their lemma keys (B), quoted words and prefixes by their forms (A).
    assert render_tsquery(query.root) == (
        "((('жест':B | 'жест_жестовий':B | 'жест_жесть':B) | ('доброй':A <-> 'воли':A))"
        " & 'режим':B & !'перегруп':*A)"
    )
    assert render(query.root) == (
        '(((lemmas : ("жест" OR "жест_жестовий" OR "жест_жесть") OR forms : "доброй воли")'
        ' AND lemmas : "режим") NOT forms : "перегруп"*)'
    )
    exact = render_tsquery(query.root, exact=True)
    assert exact == "(('жест' | ('доброй' <-> 'воли')) & 'режим' & !'перегруп':*)"
    assert render(query.root, exact=True) == (
        '((("жест" OR "доброй воли") AND "режим") NOT "перегруп"*)'
    )


async def test_raw_search_on_postgresql_reads_any_text(both: tuple[Backend, Backend]) -> None:
    """web-search syntax never fails: FTS5's syntax errors are words there (or nothing)."""
    _, pg = both
    search = SearchRepository(pg)
    for query in ['"unclosed', "a\x00b", "'&|!:*<->", "NEAR(a b)", "col:x", "*", "-", "OR"]:
        assert isinstance(await search.search(query), list), query
    assert {h.message_id for h in await search.search("погода -хорошая")} == set()
    assert {h.message_id for h in await search.search("погода OR хунта")} == {4, 10}


async def test_postgresql_searches_through_the_gin_indexes(both: tuple[Backend, Backend]) -> None:
    _, pg = both
    await index_queued(LemmaIndexRepository(pg))
    tsquery = render_tsquery(parse_search("киевский режим").root)
    plans = []
    async with pg.atomic() as tx:  # SET LOCAL: this transaction only
        await tx.execute("SET LOCAL enable_seqscan = off")  # the tables are tiny
        for sql in (
            "EXPLAIN SELECT post_id FROM post_lemmas f WHERE f.search_tsv @@ ?::tsquery",
            "EXPLAIN SELECT id FROM posts f WHERE f.search_tsv @@ ?::tsquery",
        ):
            plans.append("\n".join(r[0] for r in await tx.fetchall(sql, [tsquery])))
    assert "post_lemmas_search" in plans[0]
    assert "posts_search" in plans[1]
