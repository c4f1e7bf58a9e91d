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


# A word in a third of a million posts cannot be ranked in 100 ms (bm25 per matching row,
# and a sort of them all), so the query ranks only the newest matches: FTS5 reads its
# index in rowid order and stops after this many. Fewer matches: all are ranked, as before.
RANKED_WINDOW = 1000
# The window first (rowid order, no sort), ranked and cut to the limit; then the snippet, the
# costly part, for those few rows only (a snippet in the ranking query would be made for every
# matching row before the sort).
_SEARCH = (
    "WITH top AS ("
    " SELECT f.id, f.rank, p.posted_at FROM ("
    "  SELECT rowid AS id, rank FROM posts_fts WHERE posts_fts MATCH :q"
    "  ORDER BY rowid DESC LIMIT :window"
    " ) f JOIN posts p ON p.id = f.id ORDER BY f.rank, p.posted_at DESC LIMIT :limit)"
    " SELECT p.chat_id, c.username, c.title, p.message_id, p.posted_at,"
    " snippet(posts_fts, 0, :start, :end, '…', 16) AS snip,"
    " c.watchdog"
    " FROM top JOIN posts_fts ON posts_fts.rowid = top.id JOIN posts p ON p.id = top.id"
    " JOIN channels c ON c.chat_id = p.chat_id"
    " WHERE posts_fts MATCH :q ORDER BY top.rank, top.posted_at DESC"
)

_DATABASE_ERRORS = ("locked", "busy", "disk", "i/o", "readonly", "no such table", "corrupt")


class QuerySyntaxError(ValueError):
    """FTS5 could not parse the query."""


class SearchRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Best matches by bm25 rank, each with a snippet around the matched words.

        Only the RANKED_WINDOW most recently stored matching posts are ranked (see _SEARCH).
        """
        if len(query) > MAX_QUERY_LENGTH:
            raise QuerySyntaxError(f"the query is longer than {MAX_QUERY_LENGTH} characters")
        try:
            rows = await self._db.fetchall(
                _SEARCH,
                {
                    "q": query,
                    "window": max(RANKED_WINDOW, limit),
                    "limit": limit,
                    "start": HIGHLIGHT_START,
                    "end": HIGHLIGHT_END,
                },
            )
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
