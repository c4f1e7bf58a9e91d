"""The near-duplicate index: queued posts, LSH band keys and verified pairs (migration 0011).

Storage knows nothing of MinHash: it stores the integer keys and pairs bot/neardup.py
computes, and answers "which posts share one of these keys" with indexed reads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storage.db import Database

_CHUNK = 500  # bound parameters per IN (...) list, well under SQLite's limit


@dataclass(frozen=True, slots=True)
class IndexedPost:
    """One freshly indexed post: its text as read, its band keys and verified pairs."""

    post_id: int
    text: str
    keys: tuple[int, ...]
    pairs: tuple[tuple[int, float], ...]  # (other post id, Jaccard similarity)


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class NearDupRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def queued(self, limit: int) -> list[tuple[int, str | None]]:
        """Queued posts in id order with their text (None: the post was deleted since)."""
        rows = await self._db.fetchall(
            "SELECT q.post_id, p.text FROM neardup_queue q LEFT JOIN posts p ON p.id = q.post_id"
            " ORDER BY q.post_id LIMIT ?",
            (limit,),
        )
        return [(r[0], r[1]) for r in rows]

    async def has_queued(self) -> bool:
        return bool(await self._db.fetchval("SELECT EXISTS (SELECT 1 FROM neardup_queue)"))

    async def queue_size(self) -> int:
        return int(await self._db.fetchval("SELECT count(*) FROM neardup_queue"))

    async def posts_with_keys(self, keys: Sequence[int]) -> dict[int, set[int]]:
        """Indexed posts sharing any of `keys`: key -> post ids."""
        found: dict[int, set[int]] = {}
        unique = sorted(set(keys))
        for chunk in _chunks(unique):
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetchall(
                f"SELECT bucket, post_id FROM post_bands WHERE bucket IN ({marks})",  # noqa: S608
                chunk,
            )
            for bucket, post_id in rows:
                found.setdefault(bucket, set()).add(post_id)
        return found

    async def texts(self, post_ids: Sequence[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        unique = sorted(set(post_ids))
        for chunk in _chunks(unique):
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetchall(
                f"SELECT id, text FROM posts WHERE id IN ({marks})",  # noqa: S608
                chunk,
            )
            found.update((r[0], r[1]) for r in rows)
        return found

    async def save(self, indexed: Sequence[IndexedPost], gone: Sequence[int]) -> int:
        """Replace the keys and pairs of each post, and take it off the queue: one
        transaction, one round trip. A post edited after its text was read stays queued (its
        new text is indexed next time). Returns how many posts were indexed."""
        return await self._db.run_in_transaction(lambda conn: _save(conn, indexed, gone))

    async def pairs_among(self, post_ids: Sequence[int]) -> list[tuple[int, int, float]]:
        """Verified pairs whose both posts are in post_ids."""
        wanted = set(post_ids)
        found = []
        for chunk in _chunks(sorted(wanted)):
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetchall(
                "SELECT post_id, other_id, similarity FROM near_duplicates"  # noqa: S608
                f" WHERE post_id IN ({marks})",
                chunk,
            )
            found += [(r[0], r[1], r[2]) for r in rows if r[1] in wanted]
        return found


def _save(conn: sqlite3.Connection, indexed: Sequence[IndexedPost], gone: Sequence[int]) -> int:
    conn.executemany("DELETE FROM neardup_queue WHERE post_id = ?", [(i,) for i in gone])
    done = 0
    for post in indexed:
        cursor = conn.execute(
            "DELETE FROM neardup_queue WHERE post_id = ?"
            " AND EXISTS (SELECT 1 FROM posts WHERE id = ? AND text = ?)",
            (post.post_id, post.post_id, post.text),
        )
        if cursor.rowcount == 0:
            continue
        done += 1
        _replace(conn, post)
    return done


def _replace(conn: sqlite3.Connection, post: IndexedPost) -> None:
    conn.execute("DELETE FROM post_bands WHERE post_id = ?", (post.post_id,))
    conn.execute(
        "DELETE FROM near_duplicates WHERE post_id = ? OR other_id = ?",
        (post.post_id, post.post_id),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO post_bands (bucket, post_id) VALUES (?, ?)",
        [(key, post.post_id) for key in post.keys],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO near_duplicates (post_id, other_id, similarity)"
        " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM posts WHERE id = ?)",
        [
            (min(post.post_id, other), max(post.post_id, other), value, other)
            for other, value in post.pairs
        ],
    )
