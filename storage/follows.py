"""Followed public channels: who follows what, polling state, backfill progress, identity.

Channel identity: the web preview shows a channel's username but not the numeric id the
Bot API uses. A followed channel gets the id already stored for its username (the bot is
admin there, or its posts were forwarded or imported), or else a synthetic id below
SYNTHETIC_ID_BASE (storage/chat_ids.py), which can never equal a real one. When the real id becomes
known later, adopt() moves the posts to it in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage import audit
from storage.backend import Backend, Row
from storage.chat_ids import SYNTHETIC_ID_BASE, is_synthetic
from storage.models import Follow
from storage.timeutil import from_iso, iso

_SELECT = (
    "SELECT f.*, coalesce(c.title, '') AS title,"
    " (SELECT count(*) FROM posts p WHERE p.chat_id = f.chat_id) AS post_count"
    " FROM follows f LEFT JOIN channels c ON c.chat_id = f.chat_id"
)


class FollowRepository:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def get(self, username: str) -> Follow | None:
        row = await self._db.fetchone(f"{_SELECT} WHERE f.username = ?", (username.lower(),))
        return None if row is None else _follow(row)

    async def all(self) -> list[Follow]:
        rows = await self._db.fetchall(f"{_SELECT} ORDER BY f.username")
        return [_follow(r) for r in rows]

    async def due(self, now: datetime) -> list[Follow]:
        """Follows whose next poll time has come, the longest waiting first."""
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE f.next_poll_at <= ? ORDER BY f.next_poll_at", (iso(now),)
        )
        return [_follow(r) for r in rows]

    async def claim_due(
        self, holder: str, now: datetime, until: datetime, limit: int
    ) -> list[Follow]:
        """Claim up to `limit` follows whose poll is due and that nobody holds (issue 12:
        several processes poll; migration 0020), the longest waiting first, until `until`."""
        free = (
            "SELECT 1 FROM follows WHERE next_poll_at <= ?"
            " AND (claimed_until IS NULL OR claimed_until < ?) LIMIT 1"
        )
        if await self._db.fetchone(free, (iso(now), iso(now))) is None:
            return []  # nothing due: no write transaction
        async with self._db.atomic() as tx:
            await tx.execute(
                "UPDATE follows SET claimed_by = ?, claimed_until = ? WHERE username IN ("  # noqa: S608 (the dialect's clause)
                "SELECT username FROM follows WHERE next_poll_at <= ?"
                " AND (claimed_until IS NULL OR claimed_until < ?)"
                f" ORDER BY next_poll_at LIMIT ?{tx.dialect.skip_locked})",
                (holder, iso(until), iso(now), iso(now), limit),
            )
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE f.claimed_by = ? AND f.claimed_until = ? ORDER BY f.next_poll_at",
            (holder, iso(until)),
        )
        return [_follow(r) for r in rows]

    async def release(self, holder: str, usernames: Sequence[str]) -> None:
        """End these claims (those still this holder's), in one statement."""
        await self._claims("claimed_by = NULL, claimed_until = NULL", [], holder, usernames)

    async def extend(self, holder: str, usernames: Sequence[str], until: datetime) -> None:
        """Move the lease end of these claims (those still this holder's): a long poll."""
        await self._claims("claimed_until = ?", [iso(until)], holder, usernames)

    async def _claims(
        self, change: str, params: list[str], holder: str, usernames: Sequence[str]
    ) -> None:
        marks = ", ".join("?" * len(usernames))  # a claim holds a few follows
        async with self._db.atomic() as tx:
            await tx.execute(
                f"UPDATE follows SET {change} WHERE claimed_by = ? AND username IN ({marks})",  # noqa: S608 (constants, placeholders)
                [*params, holder, *usernames],
            )

    async def known_chat_id(self, username: str) -> int | None:
        """The id stored for a channel with this username, a real (Bot API) id first."""
        return await self._db.fetchval(  # type: ignore[no-any-return]
            "SELECT chat_id FROM channels WHERE lower(username) = lower(?)"
            " ORDER BY chat_id <= ?, updated_at DESC LIMIT 1",
            (username, SYNTHETIC_ID_BASE),
        )

    async def add(
        self,
        *,
        username: str,
        chat_id: int,
        channel_username: str,
        title: str,
        user_id: int | None,
        now: datetime,
        next_poll_at: datetime,
        backfill_before: int | None,
        backfill_left: int,
    ) -> bool:
        """Start following; False (and nothing written) if the username is followed already.

        The follow has just fetched the preview, so it counts as a successful poll.
        """
        async with self._db.atomic() as tx:
            await tx.execute(
                "INSERT INTO channels (chat_id, username, title, is_member, added_at, updated_at)"
                " VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT (chat_id) DO NOTHING",
                (chat_id, channel_username, title, iso(now), iso(now)),
            )
            added = await tx.execute(
                "INSERT INTO follows (username, chat_id, followed_at, followed_by, next_poll_at,"
                " backfill_before, backfill_left, last_poll_at, last_ok_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING",
                (
                    username.lower(),
                    chat_id,
                    iso(now),
                    user_id,
                    iso(next_poll_at),
                    backfill_before,
                    max(0, backfill_left),
                    iso(now),
                    iso(now),
                ),
            )
            if added == 0:
                return False
            await audit.record(tx, user_id, "follow", f"@{username.lower()}", now)
        return True

    async def remove(self, username: str, user_id: int | None, now: datetime) -> bool:
        """Stop following; the channel and its stored posts stay."""
        async with self._db.atomic() as tx:
            removed = await tx.execute(
                "DELETE FROM follows WHERE username = ?", (username.lower(),)
            )
            if removed == 0:
                return False
            await audit.record(tx, user_id, "unfollow", f"@{username.lower()}", now)
        return True

    async def record_poll(
        self,
        username: str,
        *,
        now: datetime,
        next_poll_at: datetime,
        state: str,
        error: str | None,
        failures: int,
    ) -> None:
        """The outcome of one poll: state, error, and when to try next (the backoff)."""
        async with self._db.atomic() as tx:
            await tx.execute(
                "UPDATE follows SET state = ?, last_error = ?, failures = ?, last_poll_at = ?,"
                " next_poll_at = ?, last_ok_at = CASE WHEN ? = 'ok' THEN ? ELSE last_ok_at END"
                " WHERE username = ?",
                (
                    state,
                    error,
                    failures,
                    iso(now),
                    iso(next_poll_at),
                    state,
                    iso(now),
                    username.lower(),
                ),
            )

    async def set_backfill(self, username: str, before: int | None, left: int) -> None:
        async with self._db.atomic() as tx:
            await tx.execute(
                "UPDATE follows SET backfill_before = ?, backfill_left = ? WHERE username = ?",
                (before, max(0, left), username.lower()),
            )

    async def stored_sources(self, chat_id: int, message_ids: Sequence[int]) -> dict[int, str]:
        """Which of these posts are stored already, and by which source."""
        if not message_ids:
            return {}
        listed, params = self._db.dialect.int_list(message_ids)
        rows = await self._db.fetchall(
            f"SELECT message_id, source FROM posts WHERE chat_id = ? AND message_id IN {listed}",  # noqa: S608 (the dialect's subquery)
            (chat_id, *params),
        )
        return {r["message_id"]: r["source"] for r in rows}

    async def newest_message_id(self, chat_id: int) -> int | None:
        return await self._db.fetchval(  # type: ignore[no-any-return]
            "SELECT max(message_id) FROM posts WHERE chat_id = ?", (chat_id,)
        )

    async def adopt(self, username: str, synthetic: int, real: int, now: datetime) -> int:
        """Move a channel from its synthetic id to its real one, in one transaction.

        Posts the real id already has (the bot stored them live, or an import did) win;
        the web copies of those are dropped with their versions and matches. The follow,
        if any, moves too. Returns how many posts moved; 0 if nothing was stored under the
        synthetic id.
        """
        if not is_synthetic(synthetic) or is_synthetic(real):
            raise ValueError(f"cannot move channel {synthetic} to {real}")
        async with self._db.atomic() as tx:
            if await tx.fetchone("SELECT 1 FROM channels WHERE chat_id = ?", (synthetic,)) is None:
                return 0
            moved = await tx.execute(
                "UPDATE posts SET chat_id = ? WHERE chat_id = ? AND message_id NOT IN"
                " (SELECT message_id FROM posts WHERE chat_id = ?)",
                (real, synthetic, real),
            )
            await tx.execute("DELETE FROM posts WHERE chat_id = ?", (synthetic,))
            await tx.execute("UPDATE follows SET chat_id = ? WHERE chat_id = ?", (real, synthetic))
            # A watchdog mark made while only the username was known stays with the channel.
            await tx.execute(
                "UPDATE channels SET watchdog = 1 WHERE chat_id = ? AND EXISTS"
                " (SELECT 1 FROM channels WHERE chat_id = ? AND watchdog = 1)",
                (real, synthetic),
            )
            await tx.execute("DELETE FROM channels WHERE chat_id = ?", (synthetic,))
            detail = f"@{username.lower()}: {synthetic} -> {real}, {moved} posts"
            await audit.record(tx, None, "follow-adopt", detail, now)
        return moved


def _follow(row: Row) -> Follow:
    def when(value: str | None) -> datetime | None:
        return from_iso(value) if value else None

    return Follow(
        username=row["username"],
        chat_id=row["chat_id"],
        title=row["title"],
        state=row["state"],
        last_error=row["last_error"],
        failures=row["failures"],
        followed_at=from_iso(row["followed_at"]),
        last_poll_at=when(row["last_poll_at"]),
        last_ok_at=when(row["last_ok_at"]),
        next_poll_at=from_iso(row["next_poll_at"]),
        backfill_before=row["backfill_before"],
        backfill_left=row["backfill_left"],
        post_count=row["post_count"],
    )
