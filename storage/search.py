"""Full-text search over stored posts: SQLite FTS5, or PostgreSQL tsvector columns."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.backend import Backend, Reader, Row
from storage.dialect import TextIndex, text_index
from storage.errors import Failure, classify
from storage.lemma_index import LemmaIndexRepository, LemmaProgress
from storage.models import SearchHit
from storage.timeutil import from_unix, unix

# Control characters mark the matched words in a snippet; the caller turns them into bold
# as it escapes the text. A post may hold these characters too: the caller treats them as
# switches (start: bold on, end: off), so a stray one cannot leave a tag unclosed.
HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"
MAX_QUERY_LENGTH = 500


_SURROGATE = re.compile("[\ud800-\udfff]")

# Ranking by bm25 reads every matching row (FTS5 counts each phrase's rows for its weights):
# for a word in a third of a million posts that alone takes 30-60 ms here, the sort more.
# A query with at least this many matches therefore lists the most recent posts among the
# newest stored RANKED_WINDOW matches (FTS5 reads its index in rowid order and stops), which
# for a broad query is what an analyst wants to see anyway; fewer matches are ranked.
# PostgreSQL (issue 12) runs the same statements on its tsvector columns (storage.dialect's
# text_index): ts_rank for bm25, ts_headline for snippet.
RANKED_WINDOW = 1000


def _many(ix: TextIndex) -> str:
    return (
        f"SELECT count(*) FROM (SELECT 1 FROM {ix.table} WHERE {ix.match}"  # noqa: S608
        f" ORDER BY {ix.key} DESC LIMIT ?) w"
    )


# The best rows first, then the snippet, the costly part, for those few rows only (a snippet
# in the ranking query would be made for every matching row before the sort).
def _ranked(ix: TextIndex) -> str:
    return (
        "WITH top AS (SELECT f.id, f.score, p.posted_at FROM ("  # noqa: S608
        f" SELECT {ix.key} AS id, {ix.rank} AS score FROM {ix.table} WHERE {ix.match}"
        " ) f JOIN posts p ON p.id = f.id ORDER BY f.score, p.posted_at DESC LIMIT ?)"
    )


def _newest(ix: TextIndex) -> str:
    return (
        "WITH top AS (SELECT f.id, -p.posted_at AS score, p.posted_at FROM ("  # noqa: S608
        f" SELECT {ix.key} AS id FROM {ix.table} WHERE {ix.match}"
        f" ORDER BY {ix.key} DESC LIMIT ?"
        " ) f JOIN posts p ON p.id = f.id ORDER BY p.posted_at DESC, f.id DESC LIMIT ?)"
    )


def _hits(ix: TextIndex) -> str:
    return (
        " SELECT p.chat_id, c.username, c.title, p.message_id, p.posted_at,"  # noqa: S608
        f" {ix.snippet} AS snip, c.watchdog"
        f" FROM top{ix.snippet_join} JOIN posts p ON p.id = top.id"
        " JOIN channels c ON c.chat_id = p.chat_id"
        " ORDER BY top.score, top.posted_at DESC, top.id DESC"
    )


class QuerySyntaxError(ValueError):
    """FTS5 could not parse the query."""


class QueryTooLongError(QuerySyntaxError):
    """The query is longer than MAX_QUERY_LENGTH characters."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.limit = MAX_QUERY_LENGTH
        super().__init__(f"too long ({length} characters; at most {MAX_QUERY_LENGTH})")


class SearchRepository:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def find(self, spec: SearchSpec) -> list[FoundPost]:
        """Posts matching a parsed search (by meaning, see below), best or newest first,
        with the slugs of the framings each matched."""
        try:
            return await _find(self._db, spec)
        except sqlite3.Error as exc:
            if classify(exc) is not Failure.SQL:
                raise
            raise QuerySyntaxError(str(exc)) from None

    async def channel_id(self, reference: str) -> int | None:
        """The chat id of a stored channel by username (any case) or chat id."""
        if reference.lstrip("-").isdigit():
            value = await self._db.fetchval(
                "SELECT chat_id FROM channels WHERE chat_id = ?", (int(reference),)
            )
        else:
            value = await self._db.fetchval(
                "SELECT chat_id FROM channels WHERE lower(username) = lower(?) LIMIT 1",
                (reference,),
            )
        return None if value is None else int(value)

    async def index_progress(self) -> LemmaProgress | None:
        """How far the lemma index is built (None: done); see storage/lemma_index.py."""
        return await LemmaIndexRepository(self._db).progress()

    async def framing_id(self, slug: str) -> int | None:
        value = await self._db.fetchval("SELECT id FROM framings WHERE slug = ?", (slug,))
        return None if value is None else int(value)

    async def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Best matches by rank, each with a snippet around the matched words; for a query
        with RANKED_WINDOW matches or more, the most recent of the newest stored ones.
        The query is FTS5 syntax on SQLite; on PostgreSQL web-search syntax (words,
        "phrases", OR, -word), which reads any text without error."""
        if len(query) > MAX_QUERY_LENGTH:
            raise QueryTooLongError(len(query))
        if not query.isprintable() and _SURROGATE.search(query):
            # sqlite3 cannot encode a lone surrogate (from a bad JSON escape) as UTF-8.
            raise QuerySyntaxError("the query holds a character that is not valid Unicode")
        if not self._db.dialect.is_sqlite:  # PostgreSQL text holds no NUL; FTS5 ignores it
            query = query.replace("\x00", " ")
        ix = text_index(self._db.dialect, "posts", raw=True)
        window = max(RANKED_WINDOW, limit)
        ranks = [query] * ix.rank.count("?")
        snip = ix.snippet_params(query, HIGHLIGHT_START, HIGHLIGHT_END)
        try:
            async with self._db.planned_reads() as reader:
                many = await reader.fetchval(_many(ix), (query, window)) >= window
                if many:
                    sql, params = _newest(ix), [query, window, limit]
                else:
                    sql, params = _ranked(ix), [*ranks, query, limit]
                rows = await reader.fetchall(sql + _hits(ix), [*params, *snip])
        except sqlite3.Error as exc:
            # SQLITE_ERROR from these fixed statements is about the MATCH expression; any
            # other code (busy, read-only, corrupt, i/o...) is about the database. The
            # message is not consulted: it may quote the user's words ("disk", "locked").
            if classify(exc) is not Failure.SQL:
                raise
            raise QuerySyntaxError(str(exc)) from None
        return [
            SearchHit(
                chat_id=r[0],
                channel_username=r[1],
                channel_title=r[2],
                message_id=r[3],
                posted_at=from_unix(r[4]),
                snippet=r[5],
                watchdog=bool(r[6]),
            )
            for r in rows
        ]


# --- search by meaning (migration 0014) ---------------------------------------------------
# Posts are found in post_lemmas (lemma keys and normalised forms, bot/search_lemmas.py),
# and, while some are still queued for it, queued posts in posts_fts by their exact forms.
# Both sides use the window rule above: read newest first and stop, rank only a few.


@dataclass(frozen=True, slots=True)
class SearchSpec:
    """A parsed search as storage runs it; the query texts are built by bot/ from one parsed
    query: FTS5 MATCH expressions for SQLite, tsqueries for PostgreSQL."""

    lemma_match: str  # for post_lemmas
    exact_match: str  # for posts_fts (queued posts)
    chat_id: int | None = None
    framing_id: int | None = None
    start: datetime | None = None  # posted at or after
    end: datetime | None = None  # posted before
    watchdog: str = "any"  # "any", "no" (leave watchdog channels out), "only"
    limit: int = 10
    lemma_tsquery: str = ""  # PostgreSQL: for post_lemmas.search_tsv
    exact_tsquery: str = ""  # PostgreSQL: for posts.search_tsv (queued posts)


@dataclass(frozen=True, slots=True)
class FoundPost:
    post_id: int
    chat_id: int
    channel_username: str | None
    channel_title: str
    message_id: int
    posted_at: datetime
    text: str
    watchdog: bool
    framings: tuple[str, ...]  # slugs of the framings the post matched


def _filters(spec: SearchSpec, key: str) -> tuple[str, str, list[Any]]:
    """(joins, conditions, params) for the filters: fixed SQL, values as parameters."""
    joins, conditions, params = "", [], []
    if spec.chat_id is not None:
        conditions.append("p.chat_id = ?")
        params.append(spec.chat_id)
    if spec.start is not None:
        conditions.append("p.posted_at >= ?")
        params.append(unix(spec.start))
    if spec.end is not None:
        conditions.append("p.posted_at < ?")
        params.append(unix(spec.end))
    if spec.framing_id is not None:
        conditions.append(
            "EXISTS (SELECT 1 FROM matches m WHERE m.post_id = p.id AND m.framing_id = ?)"
        )
        params.append(spec.framing_id)
    if spec.watchdog in ("no", "only"):
        joins = " JOIN channels c ON c.chat_id = p.chat_id"
        conditions.append("c.watchdog = 0" if spec.watchdog == "no" else "c.watchdog = 1")
    if conditions:
        joins = f" JOIN posts p ON p.id = {key}" + joins
    return joins, "".join(" AND " + c for c in conditions), params


@dataclass(frozen=True, slots=True)
class _Side:
    """One index searched: `FROM ... WHERE ...` and its parameters, the post id, the score."""

    source: str
    params: list[Any]
    key: str
    rank: str
    rank_params: list[Any]


def _sides(db: Reader, spec: SearchSpec, queued: bool) -> list[_Side]:
    """The lemma index, and while posts are queued for it, those posts by exact forms."""
    sqlite = db.dialect.is_sqlite
    lemma = text_index(db.dialect, "post_lemmas")
    query = spec.lemma_match if sqlite else spec.lemma_tsquery
    joins, conditions, params = _filters(spec, lemma.key)
    sides = [
        _Side(
            f"{lemma.table}{joins} WHERE {lemma.match}{conditions}",
            [query, *params],
            lemma.key,
            lemma.rank,
            [query] * lemma.rank.count("?"),
        )
    ]
    exact = text_index(db.dialect, "posts")
    query = spec.exact_match if sqlite else spec.exact_tsquery
    if queued and query:
        joins, conditions, params = _filters(spec, exact.key)
        sides.append(
            _Side(
                f"{exact.table} JOIN post_lemma_queue q ON q.post_id = {exact.key}"
                f"{joins} WHERE {exact.match}{conditions}",
                [query, *params],
                exact.key,
                exact.rank,
                [query] * exact.rank.count("?"),
            )
        )
    return sides


async def _find(db: Backend, spec: SearchSpec) -> list[FoundPost]:
    async with db.planned_reads() as reader:
        rows = await _found_rows(reader, spec)
    framings = await _framings_of(db, [r[0] for r in rows])
    return [
        FoundPost(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            from_unix(r[5]),
            r[6],
            bool(r[7]),
            framings.get(r[0], ()),
        )
        for r in rows
    ]


async def _found_rows(db: Reader, spec: SearchSpec) -> Sequence[Row]:
    """The posts of a search, best or newest first (rows of id, chat_id, username, title,
    message_id, posted_at, text, watchdog)."""
    window = max(RANKED_WINDOW, spec.limit)
    queued = await db.fetchval("SELECT EXISTS (SELECT 1 FROM post_lemma_queue)")
    sides = _sides(db, spec, bool(queued))
    many = False
    for side in sides:
        count = await db.fetchval(
            f"SELECT count(*) FROM (SELECT 1 FROM {side.source}"  # noqa: S608
            f" ORDER BY {side.key} DESC LIMIT ?) w",
            [*side.params, window],
        )
        many = many or count >= window
    params: list[Any] = []
    parts: list[str] = []
    for side in sides:
        if many:
            parts.append(
                f"SELECT * FROM (SELECT {side.key} AS id, 0 AS score FROM {side.source}"  # noqa: S608
                f" ORDER BY {side.key} DESC LIMIT ?) s{len(parts)}"
            )
            params += [*side.params, window]
        else:
            parts.append(f"SELECT {side.key} AS id, {side.rank} AS score FROM {side.source}")  # noqa: S608
            params += [*side.rank_params, *side.params]
    order = "p.posted_at DESC, m.id DESC" if many else "m.score, p.posted_at DESC, m.id DESC"
    return await db.fetchall(
        f"WITH m AS ({' UNION ALL '.join(parts)})"  # noqa: S608 - fixed fragments only
        " SELECT p.id, p.chat_id, c.username, c.title, p.message_id, p.posted_at, p.text,"
        " c.watchdog FROM m JOIN posts p ON p.id = m.id JOIN channels c ON c.chat_id = p.chat_id"
        f" ORDER BY {order} LIMIT ?",
        [*params, spec.limit],
    )


async def _framings_of(db: Backend, post_ids: list[int]) -> dict[int, tuple[str, ...]]:
    if not post_ids:
        return {}
    ids, params = db.dialect.int_list(post_ids)
    found: dict[int, list[str]] = {}
    for post_id, slug in await db.fetch_tuples(
        "SELECT DISTINCT m.post_id, f.slug FROM matches m JOIN framings f ON f.id = m.framing_id"  # noqa: S608
        f" WHERE m.post_id IN {ids} ORDER BY m.post_id, f.slug",
        params,
    ):
        found.setdefault(post_id, []).append(slug)
    return {post_id: tuple(slugs) for post_id, slugs in found.items()}
