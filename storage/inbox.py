"""Durable intake of raw updates: saved and committed before Telegram is told we have them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.db import Database
from storage.models import InboxUpdate
from storage.timeutil import iso


class InboxRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, updates: Sequence[InboxUpdate], now: datetime) -> int:
        """Save a fetched batch in one transaction; an update already saved is ignored."""
        async with self._db.transaction() as conn:
            before = conn.total_changes
            await conn.executemany(
                "INSERT OR IGNORE INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)",
                [(u.update_id, u.payload, iso(now)) for u in updates],
            )
            return conn.total_changes - before

    async def next_offset(self) -> int | None:
        """The getUpdates offset that acknowledges every saved update (None: nothing saved)."""
        value = await self._db.fetchval("SELECT max(update_id) FROM inbox")
        return None if value is None else int(value) + 1

    async def unprocessed(self, limit: int = 100) -> list[InboxUpdate]:
        rows = await self._db.fetchall(
            "SELECT update_id, payload FROM inbox WHERE processed_at IS NULL"
            " ORDER BY update_id LIMIT ?",
            (limit,),
        )
        return [InboxUpdate(r[0], r[1]) for r in rows]

    async def mark_processed(self, update_id: int, now: datetime, error: str | None = None) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE inbox SET processed_at = ?, attempts = attempts + 1, error = ?"
                " WHERE update_id = ?",
                (iso(now), error, update_id),
            )

    async def prune(self, before: datetime) -> int:
        """Forget processed updates older than `before`, keeping the newest for the offset."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM inbox WHERE processed_at IS NOT NULL AND processed_at < ?"
                " AND update_id < (SELECT max(update_id) FROM inbox)",
                (iso(before),),
            )
            return cur.rowcount
