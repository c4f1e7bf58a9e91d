"""Full-text search over stored posts with SQLite FTS5."""

from __future__ import annotations

import re
import sqlite3

from storage.db import Database
from storage.errors import Failure, classify
from storage.models import SearchHit
from storage.timeutil import from_unix

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
