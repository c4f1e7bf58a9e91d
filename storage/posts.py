"""Posts and their channels: the one upsert every source goes through, edits kept as versions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from storage import audit
from storage.approvals import ApprovalRepository, Joined, after_membership
from storage.backend import Backend, Row, Tx
from storage.models import ChannelStats, IncomingPost, StoreResult
from storage.nul import NUL, without_nul
from storage.numbers import ascii_int
from storage.post_store import UPSERT_CHANNEL, runs_without_repeats, store_run
from storage.timeutil import from_unix, iso


class PostRepository:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def store(self, post: IncomingPost, now: datetime) -> StoreResult:
        """Insert a post once per (chat_id, message_id); a changed text becomes an edit.

        Replaying the same update is harmless (outcome "unchanged"), and an older version
        arriving after a newer one is kept out of the current text (outcome "stale").
        store_many of one post: there is one implementation of these rules.
        """
        [result] = await self.store_many([post], now)
        return result

    async def store_many(self, posts: Sequence[IncomingPost], now: datetime) -> list[StoreResult]:
        """store() of each post in order, in one transaction and a few statements per batch
        (never one per post): the same outcomes and rows as one by one. A key repeated in
        `posts` starts a new run, so a later copy sees the earlier one exactly as store()
        would."""
        posts = [_without_nul(p) for p in posts]
        async with self._db.atomic() as tx:
            results: list[StoreResult] = []
            for run in runs_without_repeats(posts):
                results += await store_run(tx, run, now)
            return results

    async def count(self) -> int:
        return int(await self._db.fetchval("SELECT count(*) FROM posts"))

    async def versions(self, chat_id: int, message_id: int) -> list[str]:
        """Earlier texts of a post, oldest first (the current text is not included)."""
        rows = await self._db.fetchall(
            "SELECT v.text FROM post_versions v JOIN posts p ON p.id = v.post_id"
            " WHERE p.chat_id = ? AND p.message_id = ? ORDER BY v.id",
            (chat_id, message_id),
        )
        return [r[0] for r in rows]

    async def text_of(self, chat_id: int, message_id: int) -> str | None:
        return await self._db.fetchval(  # type: ignore[no-any-return]
            "SELECT text FROM posts WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        )


# U+0000 that an export file or a page brings is removed before the post is stored
# (storage/nul.py). Match offsets are taken from the stored text.
def _without_nul(post: IncomingPost) -> IncomingPost:
    outside = (post.channel_username, post.author, post.forwarded_from, post.forwarded_link)
    if not any(v and NUL in v for v in (post.text, post.channel_title, *outside, post.media)):
        return post
    return replace(
        post,
        text=without_nul(post.text),
        channel_title=without_nul(post.channel_title),
        channel_username=without_nul(post.channel_username),
        author=without_nul(post.author),
        forwarded_from=without_nul(post.forwarded_from),
        forwarded_link=without_nul(post.forwarded_link),
        media=without_nul(post.media),
    )


async def _upsert_channel(
    conn: Tx, chat_id: int, username: str | None, title: str, now: datetime
) -> None:
    await conn.execute(
        UPSERT_CHANNEL,
        (chat_id, without_nul(username) or None, without_nul(title) or "", iso(now), iso(now)),
    )


_STATS = (
    "SELECT c.chat_id, c.username, c.title, c.is_member, c.watchdog,"
    " c.approval, c.added_by, c.decided_by,"
    " count(p.id) AS posts, max(p.posted_at) AS last_post"
    " FROM channels c LEFT JOIN posts p ON p.chat_id = c.chat_id"
)


def _stats(r: Row) -> ChannelStats:
    return ChannelStats(
        chat_id=r["chat_id"],
        username=r["username"],
        title=r["title"],
        is_member=bool(r["is_member"]),
        post_count=r["posts"],
        last_post_at=from_unix(r["last_post"]) if r["last_post"] is not None else None,
        watchdog=bool(r["watchdog"]),
        approval=r["approval"],
        added_by=r["added_by"],
        decided_by=r["decided_by"],
    )


class ChannelRepository:
    def __init__(self, db: Backend) -> None:
        self._db = db
        self.approvals = ApprovalRepository(db)

    async def set_membership(
        self,
        chat_id: int,
        username: str | None,
        title: str,
        is_member: bool,
        now: datetime,
        added_by: int | None = None,
        approve: bool = True,
    ) -> Joined:
        """The bot joined or left a channel. approve: whoever added it may have it watched
        (a moderator, an admin, the operator); otherwise a new channel waits as pending."""
        async with self._db.atomic() as conn:
            row = await conn.fetchone("SELECT approval FROM channels WHERE chat_id = ?", (chat_id,))
            await _upsert_channel(conn, chat_id, username, title, now)
            await conn.execute(
                "UPDATE channels SET is_member = ?, added_by = coalesce(?, added_by)"
                " WHERE chat_id = ?",
                (int(is_member), added_by if is_member else None, chat_id),
            )
            before = None if row is None else row[0]
            return await after_membership(conn, chat_id, before, is_member, added_by, approve, now)

    async def list_with_stats(self) -> list[ChannelStats]:
        rows = await self._db.fetchall(
            _STATS + " GROUP BY c.chat_id ORDER BY c.is_member DESC, posts DESC, c.title"
        )
        return [_stats(r) for r in rows]

    async def find(self, reference: str) -> ChannelStats | None:
        """A stored channel by @username (any case) or chat id; None if unknown or ambiguous."""
        text = reference.strip().removeprefix("@")
        if (chat_id := ascii_int(text, signed=True)) is not None:
            rows = await self._db.fetchall(
                _STATS + " WHERE c.chat_id = ? GROUP BY c.chat_id", (chat_id,)
            )
        else:
            rows = await self._db.fetchall(
                _STATS + " WHERE lower(c.username) = lower(?) GROUP BY c.chat_id", (text,)
            )
        return _stats(rows[0]) if len(rows) == 1 else None

    async def set_watchdog(
        self, chat_id: int, watchdog: bool, user_id: int | None, now: datetime
    ) -> bool:
        """Mark or unmark a channel as a watchdog; False if it already was so (or is unknown)."""
        async with self._db.atomic() as conn:
            changed = await conn.execute(
                "UPDATE channels SET watchdog = ? WHERE chat_id = ? AND watchdog <> ?",
                (int(watchdog), chat_id, int(watchdog)),
            )
            if changed != 1:
                return False
            action = "watchdog-on" if watchdog else "watchdog-off"
            await audit.record(conn, user_id, action, str(chat_id), now)
        return True
