"""Posts and their channels: the one upsert every source goes through, edits kept as versions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from storage import audit
from storage.approvals import ApprovalRepository, Joined, after_membership
from storage.backend import Backend, Row, Tx
from storage.models import ChannelStats, IncomingPost, StoreOutcome, StoreResult
from storage.nul import NUL, without_nul
from storage.numbers import ascii_int
from storage.timeutil import from_unix, iso, unix


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
            for run in _runs_without_repeats(posts):
                results += await _store_run(tx, run, now)
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


_INSERT_POST = (
    "INSERT INTO posts (chat_id, message_id, posted_at, edited_at, text, source, stored_at,"
    " views, author, forwarded_from, forwarded_link, reply_to, media,"
    " forwarded_from_chat_id, forwarded_from_message_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _insert_params(post: IncomingPost, stored_at: str) -> tuple[object, ...]:
    return (
        post.chat_id,
        post.message_id,
        unix(post.posted_at),
        unix(post.edited_at) if post.edited_at else None,
        post.text,
        post.source,
        stored_at,
        post.views,
        post.author,
        post.forwarded_from,
        post.forwarded_link,
        post.reply_to,
        post.media,
        post.forwarded_from_chat_id,
        post.forwarded_from_message_id,
    )


def _runs_without_repeats(posts: Sequence[IncomingPost]) -> Iterator[Sequence[IncomingPost]]:
    """Consecutive runs in which no (chat_id, message_id) occurs twice."""
    start, seen = 0, set[tuple[int, int]]()
    for i, post in enumerate(posts):
        key = (post.chat_id, post.message_id)
        if key in seen:
            yield posts[start:i]
            start, seen = i, set()
        seen.add(key)
    if start < len(posts):
        yield posts[start:]


async def _store_run(tx: Tx, posts: Sequence[IncomingPost], now: datetime) -> list[StoreResult]:
    """store() for posts with distinct keys, in bulk. New posts are inserted in list order,
    so they get the ids that storing one by one gives; stored ones refresh their details;
    changed ones become edits (below) unless older than the stored text."""
    stamp = iso(now)
    await tx.executemany(_UPSERT_CHANNEL, _channel_rows(posts, stamp))
    stored = await _rows_by_key(tx, posts)
    fresh = [p for p in posts if (p.chat_id, p.message_id) not in stored]
    ids = {}
    if fresh:  # (each statement is a round trip: none for nothing)
        await tx.executemany(_INSERT_POST, [_insert_params(p, stamp) for p in fresh])
        ids = await _rows_by_key(tx, fresh)
    known = [(p, stored[k]) for p in posts if (k := (p.chat_id, p.message_id)) in stored]
    if known:
        await tx.executemany(_REFRESH_DETAILS, [_refresh_params(p, row[0]) for p, row in known])
    edits = [(p, row) for p, row in known if row[1] != p.text and not _is_stale(p, row)]
    await _edit(tx, edits, now)
    results = []
    for post in posts:
        key = (post.chat_id, post.message_id)
        if key not in stored:
            results.append(StoreResult(ids[key][0], StoreOutcome.NEW))
            continue
        row = stored[key]
        if row[1] == post.text:
            outcome = StoreOutcome.UNCHANGED
        else:
            outcome = StoreOutcome.STALE if _is_stale(post, row) else StoreOutcome.EDITED
        results.append(StoreResult(row[0], outcome))
    return results


def _channel_rows(posts: Sequence[IncomingPost], stamp: str) -> list[tuple[object, ...]]:
    """One channel upsert per channel, leaving what one upsert per post in turn leaves:
    the last username and the last non-empty title given."""
    final: dict[int, tuple[str | None, str]] = {}
    for p in posts:
        username, title = final.get(p.chat_id, (None, ""))
        final[p.chat_id] = (p.channel_username or username, p.channel_title or title)
    return [(chat_id, name, title, stamp, stamp) for chat_id, (name, title) in final.items()]


async def _rows_by_key(tx: Tx, posts: Sequence[IncomingPost]) -> dict[tuple[int, int], Row]:
    """(chat_id, message_id) -> (id, text, edited_at) of the stored ones among posts: one
    query per channel of the batch (most batches come from one channel)."""
    by_chat: dict[int, list[int]] = {}
    for p in posts:  # grouped once, not filtered once per chat
        by_chat.setdefault(p.chat_id, []).append(p.message_id)
    found: dict[tuple[int, int], Row] = {}
    for chat_id, message_ids in by_chat.items():
        ids, params = tx.dialect.int_list(message_ids)
        rows = await tx.fetchall(
            # IN (subquery) probes the (chat_id, message_id) index once per id.
            "SELECT id, text, edited_at, message_id FROM posts"  # noqa: S608
            f" WHERE chat_id = ? AND message_id IN {ids}",
            [chat_id, *params],
        )
        found.update({(chat_id, r[3]): r for r in rows})
    return found


def _is_stale(post: IncomingPost, row: Row) -> bool:
    """An older version arriving after a newer one: kept out of the current text."""
    new_edited = unix(post.edited_at) if post.edited_at else None
    return (new_edited or 0) < (row[2] or 0)


async def _edit(tx: Tx, edits: Sequence[tuple[IncomingPost, Row]], now: datetime) -> None:
    """The old texts become versions, the old matches go (the new text is matched again
    from scratch), the new texts replace them: three statements for the whole batch."""
    if not edits:
        return
    await tx.executemany(
        "INSERT INTO post_versions (post_id, text, edited_at, replaced_at) VALUES (?, ?, ?, ?)",
        [(row[0], row[1], row[2], iso(now)) for _, row in edits],
    )
    edited, params = tx.dialect.int_list([row[0] for _, row in edits])
    await tx.execute(f"DELETE FROM matches WHERE post_id IN {edited}", params)  # noqa: S608
    await tx.executemany(
        "UPDATE posts SET text = ?, edited_at = ? WHERE id = ?",  # queues a scan (0012)
        [(p.text, unix(p.edited_at) if p.edited_at else None, row[0]) for p, row in edits],
    )


_REFRESH_DETAILS = (
    "UPDATE posts SET views = coalesce(?, views), author = coalesce(?, author),"
    " forwarded_from = coalesce(?, forwarded_from),"
    " forwarded_link = coalesce(?, forwarded_link),"
    " reply_to = coalesce(?, reply_to), media = coalesce(?, media),"
    " forwarded_from_chat_id = coalesce(?, forwarded_from_chat_id),"
    " forwarded_from_message_id = coalesce(?, forwarded_from_message_id) WHERE id = ?"
)


def _refresh_params(post: IncomingPost, post_id: int) -> tuple[object, ...]:
    """Views grow and details may arrive from a later source: keep the latest known."""
    p = post
    origin = (p.forwarded_from_chat_id, p.forwarded_from_message_id)
    return (
        p.views,
        p.author,
        p.forwarded_from,
        p.forwarded_link,
        p.reply_to,
        p.media,
        *origin,
        post_id,
    )


async def _upsert_channel(
    conn: Tx, chat_id: int, username: str | None, title: str, now: datetime
) -> None:
    await conn.execute(
        _UPSERT_CHANNEL,
        (chat_id, without_nul(username) or None, without_nul(title) or "", iso(now), iso(now)),
    )


# Keep what we knew when a source leaves a field empty (an import may lack the username).
_UPSERT_CHANNEL = (
    "INSERT INTO channels (chat_id, username, title, is_member, added_at, updated_at)"
    " VALUES (?, ?, ?, 0, ?, ?)"
    " ON CONFLICT (chat_id) DO UPDATE SET"
    "  username = coalesce(excluded.username, channels.username),"
    "  title = CASE WHEN excluded.title <> '' THEN excluded.title ELSE channels.title END,"
    "  updated_at = excluded.updated_at"
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
