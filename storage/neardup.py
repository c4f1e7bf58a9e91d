"""The near-duplicate index: queued posts, LSH band keys and verified pairs (migration 0011).

Storage knows nothing of MinHash: it stores the integer keys and pairs bot/neardup.py
computes, and answers "which posts share one of these keys" with indexed reads.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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

    async def posts_with_keys(
        self, keys: Sequence[int], newest: int | None = None
    ) -> dict[int, list[int]]:
        """Indexed posts sharing any of `keys`: key -> post ids, newest first (one round
        trip). With `newest`, at most that many per key: a text copied a thousand times
        fills its keys with a thousand posts, and the index needs only the latest few."""
        wanted = sorted(set(keys))
        if newest is None:
            sql = "SELECT bucket, post_id FROM post_bands WHERE bucket IN ({marks})"
            rows = await self._db.run_read(_in_chunks(sql, wanted))
        else:
            rows = await self._db.run_read(_newest_per_key(wanted, newest))
        found: dict[int, list[int]] = {}
        for bucket, post_id in rows:
            found.setdefault(bucket, []).append(post_id)
        for ids in found.values():
            ids.sort(reverse=True)
        return found

    async def texts(self, post_ids: Sequence[int]) -> dict[int, str]:
        sql = "SELECT id, text FROM posts WHERE id IN ({marks})"
        rows = await self._db.run_read(_in_chunks(sql, sorted(set(post_ids))))
        return {r[0]: r[1] for r in rows}

    async def save(self, indexed: Sequence[IndexedPost], gone: Sequence[int]) -> int:
        """Replace the keys and pairs of each post, and take it off the queue: one
        transaction, one round trip. A post edited after its text was read stays queued (its
        new text is indexed next time). Returns how many posts were indexed."""
        return await self._db.run_in_transaction(lambda conn: _save(conn, indexed, gone))

    async def pairs_among(self, post_ids: Sequence[int]) -> list[tuple[int, int, float]]:
        """Verified pairs whose both posts are in post_ids (one round trip)."""
        wanted = set(post_ids)
        sql = "SELECT post_id, other_id, similarity FROM near_duplicates WHERE post_id IN ({marks})"
        rows = await self._db.run_read(_in_chunks(sql, sorted(wanted)))
        return [(r[0], r[1], r[2]) for r in rows if r[1] in wanted]


def _in_chunks(sql: str, values: Sequence[int]) -> Callable[[sqlite3.Connection], list[Any]]:
    """A read of `sql` ({marks}: the IN list) over every chunk of values, run whole on the
    database thread: SQLite caps the parameters of one statement, not the round trips."""

    def read(conn: sqlite3.Connection) -> list[Any]:
        rows: list[Any] = []
        for chunk in _chunks(values):
            marks = ",".join("?" * len(chunk))
            rows += conn.execute(sql.format(marks=marks), chunk).fetchall()
        return rows

    return read


def _newest_per_key(keys: Sequence[int], limit: int) -> Callable[[sqlite3.Connection], list[Any]]:
    """One statement for all keys: per key, a seek on the (bucket, post_id) primary key that
    reads at most `limit` rows of a crowded key, where an IN (...) list would read every post
    that ever had it. The keys go in as one JSON array; each key's posts come back joined."""

    def read(conn: sqlite3.Connection) -> list[Any]:
        rows = conn.execute(
            "SELECT k.value, (SELECT group_concat(post_id) FROM"
            " (SELECT post_id FROM post_bands WHERE bucket = k.value"
            "  ORDER BY post_id DESC LIMIT ?))"
            " FROM json_each(?) k",
            (limit, json.dumps(list(keys))),
        ).fetchall()
        return [(key, int(post)) for key, posts in rows if posts for post in posts.split(",")]

    return read


def _save(conn: sqlite3.Connection, indexed: Sequence[IndexedPost], gone: Sequence[int]) -> int:
    conn.executemany("DELETE FROM neardup_queue WHERE post_id = ?", [(i,) for i in gone])
    current = _still_current(conn, indexed)
    ids = [(post.post_id,) for post in current]
    # Set-wise, each statement once for the batch: all old keys and pairs of these posts go
    # before any new one is written, so a pair two posts of the batch share survives.
    conn.executemany("DELETE FROM neardup_queue WHERE post_id = ?", ids)
    conn.executemany("DELETE FROM post_bands WHERE post_id = ?", ids)
    conn.executemany("DELETE FROM near_duplicates WHERE post_id = ?", ids)
    conn.executemany("DELETE FROM near_duplicates WHERE other_id = ?", ids)
    # In key order: consecutive inserts land on neighbouring pages of the (bucket, post) tree.
    conn.executemany(
        "INSERT OR IGNORE INTO post_bands (bucket, post_id) VALUES (?, ?)",
        sorted((key, post.post_id) for post in current for key in post.keys),
    )
    conn.executemany(
        "INSERT OR REPLACE INTO near_duplicates (post_id, other_id, similarity)"
        " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM posts WHERE id = ?)",
        [
            (min(post.post_id, other), max(post.post_id, other), value, other)
            for post in current
            for other, value in post.pairs
        ],
    )
    return len(current)


def _still_current(conn: sqlite3.Connection, indexed: Sequence[IndexedPost]) -> list[IndexedPost]:
    """The posts still queued whose text is the one that was indexed; a post edited since
    stays queued (its new text is indexed next time)."""
    now: dict[int, str] = {}
    for chunk in _chunks([post.post_id for post in indexed]):
        marks = ",".join("?" * len(chunk))
        now.update(
            conn.execute(
                "SELECT p.id, p.text FROM neardup_queue q JOIN posts p ON p.id = q.post_id"  # noqa: S608
                f" WHERE q.post_id IN ({marks})",
                chunk,
            ).fetchall()
        )
    return [post for post in indexed if now.get(post.post_id) == post.text]
