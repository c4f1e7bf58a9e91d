"""The lemma index of posts (migration 0014): its queue, and writing a batch of lemma texts.

Storage knows nothing of lemmas: it stores the two columns bot/search_lemmas.py computes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Database

_CHUNK = 500  # bound parameters per IN (...) list


@dataclass(frozen=True, slots=True)
class LemmaRow:
    post_id: int
    text: str  # the text that was lemmatised (a post edited since stays queued)
    forms: str
    lemmas: str


@dataclass(frozen=True, slots=True)
class LemmaProgress:
    queued: int  # posts waiting to be lemma-indexed (found meanwhile by exact forms)
    stored: int  # posts stored


class LemmaIndexRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def queued(self, limit: int, below: int | None = None) -> list[tuple[int, str | None]]:
        """Queued posts, newest first (what analysts look for), with their text (None: gone);
        below: only posts with a smaller id (the next batch while one is being indexed)."""
        rows = await self._db.fetchall(
            "SELECT q.post_id, p.text FROM post_lemma_queue q"
            " LEFT JOIN posts p ON p.id = q.post_id WHERE ?1 IS NULL OR q.post_id < ?1"
            " ORDER BY q.post_id DESC LIMIT ?2",
            (below, limit),
        )
        return [(r[0], r[1]) for r in rows]

    async def has_queued(self) -> bool:
        return bool(await self._db.fetchval("SELECT EXISTS (SELECT 1 FROM post_lemma_queue)"))

    async def progress(self) -> LemmaProgress | None:
        """How far the background indexing is; None when every post is indexed (one cheap
        read then; the counts only while a backlog remains)."""

        def read(conn: sqlite3.Connection) -> LemmaProgress | None:
            if conn.execute("SELECT EXISTS (SELECT 1 FROM post_lemma_queue)").fetchone()[0] == 0:
                return None
            queued = conn.execute("SELECT count(*) FROM post_lemma_queue").fetchone()[0]
            stored = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
            return LemmaProgress(int(queued), int(stored))

        return await self._db.run_read(read)

    async def save(self, rows: Sequence[LemmaRow], gone: Sequence[int]) -> int:
        """Write the lemma texts and take the posts off the queue: one transaction, one round
        trip. A post whose text changed since it was read stays queued. Returns how many
        posts were indexed."""
        return await self._db.run_in_transaction(lambda conn: _save(conn, rows, gone))


def _save(conn: sqlite3.Connection, rows: Sequence[LemmaRow], gone: Sequence[int]) -> int:
    conn.executemany("DELETE FROM post_lemma_queue WHERE post_id = ?", [(i,) for i in gone])
    now: dict[int, str] = {}
    ids = [row.post_id for row in rows]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        now.update(
            conn.execute(
                "SELECT p.id, p.text FROM post_lemma_queue q JOIN posts p ON p.id = q.post_id"  # noqa: S608
                f" WHERE q.post_id IN ({marks})",
                chunk,
            ).fetchall()
        )
    current = sorted((r for r in rows if now.get(r.post_id) == r.text), key=lambda r: r.post_id)
    keys = [(r.post_id,) for r in current]
    conn.executemany("DELETE FROM post_lemmas WHERE rowid = ?", keys)
    conn.executemany(
        "INSERT INTO post_lemmas (rowid, forms, lemmas) VALUES (?, ?, ?)",
        [(r.post_id, r.forms, r.lemmas) for r in current],
    )
    conn.executemany("DELETE FROM post_lemma_queue WHERE post_id = ?", keys)
    return len(current)
