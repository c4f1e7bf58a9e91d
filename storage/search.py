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
        """Best matches by bm25 rank, each with a snippet around the matched words."""
        if len(query) > MAX_QUERY_LENGTH:
            raise QueryTooLongError(len(query))
        if not query.isprintable() and _SURROGATE.search(query):
            # sqlite3 cannot encode a lone surrogate (from a bad JSON escape) as UTF-8.
            raise QuerySyntaxError("the query holds a character that is not valid Unicode")
        try:
            rows = await self._db.fetchall(
                "SELECT p.chat_id, c.username, c.title, p.message_id, p.posted_at,"
                " snippet(posts_fts, 0, ?, ?, '…', 16) AS snip, c.watchdog"
                " FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid"
                " JOIN channels c ON c.chat_id = p.chat_id"
                " WHERE posts_fts MATCH ? ORDER BY posts_fts.rank, p.posted_at DESC LIMIT ?",
                (HIGHLIGHT_START, HIGHLIGHT_END, query, limit),
            )
        except sqlite3.Error as exc:
            # SQLITE_ERROR from this fixed statement is about the MATCH expression; any
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
