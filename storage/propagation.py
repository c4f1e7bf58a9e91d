"""What propagation reads: the posts matching a framing in a period, in bulk (plain rows).

Only channels that count (watched_channels, migration 0006) and matches no moderator
rejected (counted_matches, migration 0015); each post once per framing. Runs on SQLite and
PostgreSQL (storage.backend).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.backend import Backend
from storage.timeutil import from_unix, unix


@dataclass(frozen=True, slots=True)
class FramingPost:
    framing_slug: str
    post_id: int
    chat_id: int
    channel_username: str | None
    channel_title: str
    watchdog: bool
    message_id: int
    posted_at: datetime
    forwarded_chat_id: int | None
    forwarded_message_id: int | None
    forwarded_link: str | None


_SELECT = (
    "SELECT DISTINCT f.slug, p.id, p.chat_id, c.username, c.title, c.watchdog, p.message_id,"
    " p.posted_at, p.forwarded_from_chat_id, p.forwarded_from_message_id, p.forwarded_link"
    " FROM counted_matches m JOIN framings f ON f.id = m.framing_id"
    " JOIN posts p ON p.id = m.post_id"
    " JOIN watched_channels c ON c.chat_id = p.chat_id"
    " WHERE p.posted_at >= ? AND p.posted_at < ? AND (CAST(? AS TEXT) IS NULL OR f.slug = ?)"
    " ORDER BY f.slug, p.posted_at, p.id"
)


class PropagationRepository:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def framing_posts(
        self, framing: str | None, since: datetime, until: datetime
    ) -> list[FramingPost]:
        rows = await self._db.fetchall(_SELECT, (unix(since), unix(until), framing, framing))
        return [
            FramingPost(
                r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], from_unix(r[7]), r[8], r[9], r[10]
            )
            for r in rows
        ]

    async def usernames(self) -> dict[str, int]:
        """Stored channels by lower-case username: resolves web-preview forward links."""
        rows = await self._db.fetchall(
            "SELECT lower(username), chat_id FROM channels WHERE username IS NOT NULL"
        )
        return {r[0]: r[1] for r in rows}

    async def channels(self) -> dict[int, tuple[str | None, str, bool]]:
        """Every channel: chat id -> (username, title, watchdog)."""
        rows = await self._db.fetchall("SELECT chat_id, username, title, watchdog FROM channels")
        return {r[0]: (r[1], r[2], bool(r[3])) for r in rows}
