"""The lemma index of posts (migration 0014): its queue, and writing a batch of lemma texts.

Storage knows nothing of lemmas: it stores the two columns bot/search_lemmas.py computes.
Runs on SQLite (post_lemmas is an FTS5 table keyed by rowid) and on PostgreSQL (a table
keyed by post_id, its tsvector generated from the two columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.backend import Backend
from storage.dialect import lemma_key_column

_NO_POST = 1 << 62  # above every post id: `below` not given


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
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def queued(self, limit: int, below: int | None = None) -> list[tuple[int, str | None]]:
        """Queued posts, newest first (what analysts look for), with their text (None: gone);
        below: only posts with a smaller id (the next batch while one is being indexed)."""
        rows = await self._db.fetchall(
            "SELECT q.post_id, p.text FROM post_lemma_queue q"
            " LEFT JOIN posts p ON p.id = q.post_id WHERE q.post_id < ?"
            " ORDER BY q.post_id DESC LIMIT ?",
            (_NO_POST if below is None else below, limit),
        )
        return [(r[0], r[1]) for r in rows]

    async def has_queued(self) -> bool:
        return bool(await self._db.fetchval("SELECT EXISTS (SELECT 1 FROM post_lemma_queue)"))

    async def progress(self) -> LemmaProgress | None:
        """How far the background indexing is; None when every post is indexed (one cheap
        read then; the counts only while a backlog remains)."""
        if not await self.has_queued():
            return None
        row = await self._db.fetchone(
            "SELECT (SELECT count(*) FROM post_lemma_queue), (SELECT count(*) FROM posts)"
        )
        assert row is not None
        return LemmaProgress(int(row[0]), int(row[1]))

    async def save(self, rows: Sequence[LemmaRow], gone: Sequence[int]) -> int:
        """Write the lemma texts and take the posts off the queue: one transaction, a few
        statements whatever the batch's size. A post whose text changed since it was read
        stays queued. Returns how many posts were indexed."""
        async with self._db.atomic() as tx:
            if gone:
                ids, params = tx.dialect.int_list(gone)
                await tx.execute(f"DELETE FROM post_lemma_queue WHERE post_id IN {ids}", params)  # noqa: S608
            if not rows:
                return 0
            ids, params = tx.dialect.int_list([row.post_id for row in rows])
            now: dict[int, str] = dict(
                await tx.fetchall(  # type: ignore[arg-type]
                    "SELECT p.id, p.text FROM post_lemma_queue q JOIN posts p ON p.id = q.post_id"  # noqa: S608
                    f" WHERE q.post_id IN {ids}",
                    params,
                )
            )
            current = sorted(
                (r for r in rows if now.get(r.post_id) == r.text), key=lambda r: r.post_id
            )
            if not current:
                return 0
            key = lemma_key_column(tx.dialect)
            ids, params = tx.dialect.int_list([r.post_id for r in current])
            await tx.execute(f"DELETE FROM post_lemmas WHERE {key} IN {ids}", params)  # noqa: S608
            await tx.executemany(
                f"INSERT INTO post_lemmas ({key}, forms, lemmas) VALUES (?, ?, ?)",  # noqa: S608
                [(r.post_id, r.forms, r.lemmas) for r in current],
            )
            await tx.execute(f"DELETE FROM post_lemma_queue WHERE post_id IN {ids}", params)  # noqa: S608
            return len(current)
