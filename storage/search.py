"""Full-text search over stored posts with SQLite FTS5."""

from __future__ import annotations

import sqlite3

from storage.db import Database
from storage.models import SearchHit
from storage.timeutil import from_unix

# Control characters never occur in post text we keep for display, so they can mark the
# matched words in a snippet without clashing with anything; the caller turns them into
# <b></b> after escaping the text.
HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"
MAX_QUERY_LENGTH = 500


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

_DATABASE_ERRORS = ("locked", "busy", "disk", "i/o", "readonly", "no such table", "corrupt")


class QuerySyntaxError(ValueError):
    """FTS5 could not parse the query."""


class SearchRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Best matches by bm25 rank, each with a snippet around the matched words; for a
        query with RANKED_WINDOW matches or more, the most recent of the newest stored ones."""
        if len(query) > MAX_QUERY_LENGTH:
            raise QuerySyntaxError(f"the query is longer than {MAX_QUERY_LENGTH} characters")
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
        except sqlite3.OperationalError as exc:
            # Whatever SQLite says about this statement is about the MATCH expression,
            # unless the database itself is busy, locked or broken.
            if any(sign in str(exc).lower() for sign in _DATABASE_ERRORS):
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
