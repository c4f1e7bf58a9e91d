"""Full-text search over stored posts with SQLite FTS5."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database
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
RANKED_WINDOW = 1000
_MANY = (
    "SELECT count(*) FROM (SELECT 1 FROM posts_fts WHERE posts_fts MATCH :q"
    " ORDER BY rowid DESC LIMIT :window)"
)
# The best rows first, then the snippet, the costly part, for those few rows only (a snippet
# in the ranking query would be made for every matching row before the sort).
_RANKED = (
    "WITH top AS ("
    " SELECT f.id, f.rank AS score, p.posted_at FROM ("
    "  SELECT rowid AS id, rank FROM posts_fts WHERE posts_fts MATCH :q"
    " ) f JOIN posts p ON p.id = f.id ORDER BY f.rank, p.posted_at DESC LIMIT :limit)"
)
_NEWEST = (
    "WITH top AS ("
    " SELECT f.id, -p.posted_at AS score, p.posted_at FROM ("
    "  SELECT rowid AS id FROM posts_fts WHERE posts_fts MATCH :q"
    "  ORDER BY rowid DESC LIMIT :window"
    " ) f JOIN posts p ON p.id = f.id ORDER BY p.posted_at DESC, f.id DESC LIMIT :limit)"
)
_HITS = (
    " SELECT p.chat_id, c.username, c.title, p.message_id, p.posted_at,"
    " snippet(posts_fts, 0, :start, :end, '…', 16) AS snip, c.watchdog"
    " FROM top JOIN posts_fts ON posts_fts.rowid = top.id JOIN posts p ON p.id = top.id"
    " JOIN channels c ON c.chat_id = p.chat_id"
    " WHERE posts_fts MATCH :q ORDER BY top.score, top.posted_at DESC, top.id DESC"
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
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, spec: SearchSpec) -> list[FoundPost]:
        """Posts matching a parsed search (by meaning, see below), best or newest first,
        with the slugs of the framings each matched: one round trip."""
        try:
            return await self._db.run_read(lambda conn: _find(conn, spec))
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
        """Best matches by bm25 rank, each with a snippet around the matched words; for a
        query with RANKED_WINDOW matches or more, the most recent of the newest stored ones."""
        if len(query) > MAX_QUERY_LENGTH:
            raise QueryTooLongError(len(query))
        if not query.isprintable() and _SURROGATE.search(query):
            # sqlite3 cannot encode a lone surrogate (from a bad JSON escape) as UTF-8.
            raise QuerySyntaxError("the query holds a character that is not valid Unicode")
        params = {
            "q": query,
            "window": max(RANKED_WINDOW, limit),
            "limit": limit,
            "start": HIGHLIGHT_START,
            "end": HIGHLIGHT_END,
        }
        try:
            many = await self._db.fetchval(_MANY, params) >= params["window"]
            rows = await self._db.fetchall((_NEWEST if many else _RANKED) + _HITS, params)
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
    """A parsed search as storage runs it; the MATCH expressions are built by bot/."""

    lemma_match: str  # for post_lemmas
    exact_match: str  # for posts_fts (queued posts)
    chat_id: int | None = None
    framing_id: int | None = None
    start: datetime | None = None  # posted at or after
    end: datetime | None = None  # posted before
    watchdog: str = "any"  # "any", "no" (leave watchdog channels out), "only"
    limit: int = 10


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


def _filters(spec: SearchSpec) -> tuple[str, str, dict[str, Any]]:
    """(joins, conditions, params) for the filters: fixed SQL, values as parameters."""
    joins, conditions, params = "", [], {}
    if spec.chat_id is not None:
        conditions.append("p.chat_id = :chat_id")
        params["chat_id"] = spec.chat_id
    if spec.start is not None:
        conditions.append("p.posted_at >= :start")
        params["start"] = unix(spec.start)
    if spec.end is not None:
        conditions.append("p.posted_at < :end")
        params["end"] = unix(spec.end)
    if spec.framing_id is not None:
        conditions.append(
            "EXISTS (SELECT 1 FROM matches m WHERE m.post_id = p.id AND m.framing_id = :framing)"
        )
        params["framing"] = spec.framing_id
    if spec.watchdog in ("no", "only"):
        joins = " JOIN channels c ON c.chat_id = p.chat_id"
        conditions.append("c.watchdog = 0" if spec.watchdog == "no" else "c.watchdog = 1")
    if conditions:
        joins = " JOIN posts p ON p.id = f.rowid" + joins
    return joins, "".join(" AND " + c for c in conditions), params


def _sides(spec: SearchSpec, queued: bool) -> list[tuple[str, str]]:
    """(FROM ... WHERE ... for the side, its MATCH parameter name) for each side searched."""
    joins, conditions, _ = _filters(spec)
    sides = [(f"post_lemmas f{joins} WHERE post_lemmas MATCH :lq{conditions}", "lq")]
    if queued and spec.exact_match:
        sides.append(
            (
                "posts_fts f JOIN post_lemma_queue q ON q.post_id = f.rowid"
                f"{joins} WHERE posts_fts MATCH :eq{conditions}",
                "eq",
            )
        )
    return sides


def _find(conn: sqlite3.Connection, spec: SearchSpec) -> list[FoundPost]:
    params: dict[str, Any] = {
        "lq": spec.lemma_match,
        "eq": spec.exact_match,
        "window": max(RANKED_WINDOW, spec.limit),
        "limit": spec.limit,
        **_filters(spec)[2],
    }
    queued = conn.execute("SELECT EXISTS (SELECT 1 FROM post_lemma_queue)").fetchone()[0]
    sides = _sides(spec, bool(queued))
    many = any(
        conn.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {side} ORDER BY f.rowid DESC LIMIT :window)",  # noqa: S608
            params,
        ).fetchone()[0]
        >= params["window"]
        for side, _name in sides
    )
    if many:
        parts = [
            f"SELECT * FROM (SELECT f.rowid AS id, 0 AS score FROM {side}"  # noqa: S608
            " ORDER BY f.rowid DESC LIMIT :window)"
            for side, _name in sides
        ]
        order = "p.posted_at DESC, m.id DESC"
    else:
        parts = [f"SELECT f.rowid AS id, f.rank AS score FROM {side}" for side, _ in sides]  # noqa: S608
        order = "m.score, p.posted_at DESC, m.id DESC"
    rows = conn.execute(
        f"WITH m AS ({' UNION ALL '.join(parts)})"  # noqa: S608 - fixed fragments only
        " SELECT p.id, p.chat_id, c.username, c.title, p.message_id, p.posted_at, p.text,"
        " c.watchdog FROM m JOIN posts p ON p.id = m.id JOIN channels c ON c.chat_id = p.chat_id"
        f" ORDER BY {order} LIMIT :limit",
        params,
    ).fetchall()
    framings = _framings_of(conn, [r[0] for r in rows])
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


def _framings_of(conn: sqlite3.Connection, post_ids: list[int]) -> dict[int, tuple[str, ...]]:
    if not post_ids:
        return {}
    marks = ",".join("?" * len(post_ids))
    found: dict[int, list[str]] = {}
    for post_id, slug in conn.execute(
        "SELECT DISTINCT m.post_id, f.slug FROM matches m JOIN framings f ON f.id = m.framing_id"  # noqa: S608
        f" WHERE m.post_id IN ({marks}) ORDER BY m.post_id, f.slug",
        post_ids,
    ):
        found.setdefault(post_id, []).append(slug)
    return {post_id: tuple(slugs) for post_id, slugs in found.items()}
