"""The near-duplicate index: queued posts, LSH band keys and verified pairs (migration 0011).

Storage knows nothing of MinHash: it stores the integer keys and pairs bot/neardup.py
computes, and answers "which posts share one of these keys" with indexed reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.backend import Backend, Tx


@dataclass(frozen=True, slots=True)
class IndexedPost:
    """One freshly indexed post: its text as read, its band keys and verified pairs."""

    post_id: int
    text: str
    keys: tuple[int, ...]
    pairs: tuple[tuple[int, float], ...]  # (other post id, Jaccard similarity)


# Per key, the posts from its `limit`-th newest on: a seek on the (bucket, post_id) primary key
# for the threshold (at most `limit` rows of a crowded key read), then a range from it, where
# a plain IN (...) would read every post that ever had the key. Keys: dialect.int_rows `k`.
_NEWEST_PER_KEY = (
    "SELECT k.bucket, b.post_id FROM {keys} JOIN post_bands b ON b.bucket = k.bucket"
    " AND b.post_id >= (SELECT min(newest.post_id) FROM (SELECT post_id FROM post_bands"
    "  WHERE bucket = k.bucket ORDER BY post_id DESC LIMIT ?) AS newest)"
)
# A pair is kept only if its other post still exists (it may be deleted meanwhile); the
# casts give PostgreSQL the parameters' types in a SELECT list.
_INSERT_PAIR = (
    "INSERT INTO near_duplicates (post_id, other_id, similarity)"
    " SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION)"
    " WHERE EXISTS (SELECT 1 FROM posts WHERE id = ?)"
    " ON CONFLICT (post_id, other_id) DO UPDATE SET similarity = excluded.similarity"
)


class NearDupRepository:
    def __init__(self, db: Backend) -> None:
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
            within, params = self._db.dialect.int_list(wanted)
            sql = f"SELECT bucket, post_id FROM post_bands WHERE bucket IN {within}"  # noqa: S608
        else:
            table, params = self._db.dialect.int_rows("k", ["bucket"], [(k,) for k in wanted])
            sql, params = _NEWEST_PER_KEY.format(keys=table), [*params, newest]
        rows = await self._db.fetch_tuples(sql, params)
        found: dict[int, list[int]] = {}
        for bucket, post_id in rows:
            found.setdefault(bucket, []).append(post_id)
        for ids in found.values():
            ids.sort(reverse=True)
        return found

    async def texts(self, post_ids: Sequence[int]) -> dict[int, str]:
        within, params = self._db.dialect.int_list(sorted(set(post_ids)))
        rows = await self._db.fetch_tuples(
            f"SELECT id, text FROM posts WHERE id IN {within}",  # noqa: S608
            params,
        )
        return {r[0]: r[1] for r in rows}

    async def save(self, indexed: Sequence[IndexedPost], gone: Sequence[int]) -> int:
        """Replace the keys and pairs of each post, and take it off the queue: one
        transaction, a statement per kind of row for the whole batch. A post edited after its
        text was read stays queued (its new text is indexed next time). Returns how many posts
        were indexed."""
        async with self._db.atomic() as tx:
            return await _save(tx, indexed, gone)

    async def pairs_among(self, post_ids: Sequence[int]) -> list[tuple[int, int, float]]:
        """Verified pairs whose both posts are in post_ids (one round trip)."""
        wanted = set(post_ids)
        within, params = self._db.dialect.int_list(sorted(wanted))
        rows = await self._db.fetch_tuples(
            "SELECT post_id, other_id, similarity FROM near_duplicates"  # noqa: S608
            f" WHERE post_id IN {within}",
            params,
        )
        return [(r[0], r[1], r[2]) for r in rows if r[1] in wanted]


async def _save(tx: Tx, indexed: Sequence[IndexedPost], gone: Sequence[int]) -> int:
    if gone:
        within, params = tx.dialect.int_list(gone)
        await tx.execute(f"DELETE FROM neardup_queue WHERE post_id IN {within}", params)  # noqa: S608
    current = await _still_current(tx, indexed)
    if not current:
        return 0
    # Set-wise, each statement once for the batch: all old keys and pairs of these posts go
    # before any new one is written, so a pair two posts of the batch share survives.
    within, ids = tx.dialect.int_list([post.post_id for post in current])
    for sql in (
        "DELETE FROM neardup_queue WHERE post_id IN {within}",
        "DELETE FROM post_bands WHERE post_id IN {within}",
        "DELETE FROM near_duplicates WHERE post_id IN {within}",
        "DELETE FROM near_duplicates WHERE other_id IN {within}",
    ):
        await tx.execute(sql.format(within=within), ids)
    # In key order: consecutive inserts land on neighbouring pages of the (bucket, post) tree.
    keys = sorted((key, post.post_id) for post in current for key in post.keys)
    if keys:
        table, params = tx.dialect.int_rows("b", ["bucket", "post_id"], keys)
        await tx.execute(
            "INSERT INTO post_bands (bucket, post_id)"  # noqa: S608
            f" SELECT b.bucket, b.post_id FROM {table} WHERE true ORDER BY b.n"
            " ON CONFLICT DO NOTHING",
            params,
        )
    pairs = [
        (min(post.post_id, other), max(post.post_id, other), value, other)
        for post in current
        for other, value in post.pairs
    ]
    if pairs:
        await tx.executemany(_INSERT_PAIR, pairs)
    return len(current)


async def _still_current(tx: Tx, indexed: Sequence[IndexedPost]) -> list[IndexedPost]:
    """The posts still queued whose text is the one that was indexed; a post edited since
    stays queued (its new text is indexed next time)."""
    if not indexed:
        return []
    within, params = tx.dialect.int_list([post.post_id for post in indexed])
    rows = await tx.fetchall(
        "SELECT p.id, p.text FROM neardup_queue q JOIN posts p ON p.id = q.post_id"  # noqa: S608
        f" WHERE q.post_id IN {within}",
        params,
    )
    now = {r[0]: r[1] for r in rows}
    return [post for post in indexed if now.get(post.post_id) == post.text]
