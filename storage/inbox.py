"""Durable intake of raw updates: saved and committed before Telegram is told we have them.

A row is pending, processed, or quarantined (it failed MAX_ATTEMPTS times and waits for an
admin to retry or drop it). Nothing leaves the quarantine without an admin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage import audit
from storage.backend import Backend
from storage.models import InboxUpdate
from storage.timeutil import from_iso, iso

MAX_ATTEMPTS = 3  # parse or handling failures before an update is set aside
# PostgreSQL: every save of new updates notifies this channel at commit, with the lowest
# update_id of the batch, so the leader dispatches what any instance's listener saved.
INBOX_CHANNEL = "framewatch_inbox"
# retry and drop act on quarantined rows: all, or those among the ids given (`{ids}`: the
# dialect's int_list, one parameter however many ids).
_RETRY = "UPDATE inbox SET quarantined_at = NULL, attempts = 0"
_DROP = "UPDATE inbox SET processed_at = ?, dropped_by = ?"
_QUARANTINED = " WHERE quarantined_at IS NOT NULL AND processed_at IS NULL"


@dataclass(frozen=True, slots=True)
class QuarantinedUpdate:
    update_id: int  # negative: the element had no integer update_id (see bot.inbox)
    payload: str
    received_at: datetime
    quarantined_at: datetime
    attempts: int
    error: str


@dataclass(frozen=True, slots=True)
class InboxCounts:
    pending: int
    quarantined: int


class InboxRepository:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def save(self, updates: Sequence[InboxUpdate], now: datetime) -> int:
        """Save a fetched batch in one transaction; an update already saved is ignored.
        Returns how many were new (two statements per batch, whatever its size)."""
        if not updates:
            return 0
        ids = {u.update_id for u in updates}
        async with self._db.atomic() as tx:
            # Writes run one at a time (storage.backend), so what exists now is what the
            # insert below skips.
            listed, params = tx.dialect.int_list(sorted(ids))
            saved = await tx.fetchval(
                f"SELECT count(*) FROM inbox WHERE update_id IN {listed}",  # noqa: S608 (dialect text)
                params,
            )
            await tx.executemany(
                "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)"
                " ON CONFLICT (update_id) DO NOTHING",
                [(u.update_id, u.payload, iso(now)) for u in updates],
            )
            new = len(ids) - int(saved)
            notify = tx.dialect.notify()
            if new and notify is not None:
                await tx.execute(notify, (INBOX_CHANNEL, str(min(ids))))
        return new

    async def next_offset(self) -> int | None:
        """The getUpdates offset that acknowledges every saved update (None: nothing saved).

        Negative keys are elements saved without an update_id: they never count, or a
        negative offset would ask Telegram for the last updates again."""
        value = await self._db.fetchval("SELECT max(update_id) FROM inbox WHERE update_id >= 0")
        return None if value is None else int(value) + 1

    async def unprocessed(
        self, limit: int = 100, after: int | None = None, untried: bool = False
    ) -> list[InboxUpdate]:
        """Pending rows (not processed, not quarantined) after `after`, oldest first;
        `untried`: only those never attempted (not failed ones waiting for their retry)."""
        rows = await self._db.fetchall(
            "SELECT update_id, payload FROM inbox"
            " WHERE processed_at IS NULL AND quarantined_at IS NULL AND update_id > ?"
            " AND (attempts = 0 OR NOT ?)"
            " ORDER BY update_id LIMIT ?",
            (-(2**63) if after is None else after, untried, limit),
        )
        return [InboxUpdate(r[0], r[1]) for r in rows]

    async def mark_processed(self, update_id: int, now: datetime, error: str | None = None) -> None:
        async with self._db.atomic() as tx:
            await tx.execute(
                "UPDATE inbox SET processed_at = ?, attempts = attempts + 1, error = ?"
                " WHERE update_id = ?",
                (iso(now), error, update_id),
            )

    async def record_failure(
        self, update_id: int, now: datetime, error: str, final: bool = False
    ) -> bool:
        """Count a failed attempt; at MAX_ATTEMPTS (or `final`) set the update aside.
        Returns whether it is now quarantined."""
        async with self._db.atomic() as tx:
            row = await tx.fetchone(
                "UPDATE inbox SET attempts = attempts + 1, error = ?,"
                " quarantined_at = CASE WHEN ? OR attempts + 1 >= ? THEN ? END"
                " WHERE update_id = ? AND processed_at IS NULL"
                " RETURNING quarantined_at",
                (error, final, MAX_ATTEMPTS, iso(now), update_id),
            )
        return row is not None and row[0] is not None

    async def counts(self) -> InboxCounts:
        row = await self._db.fetchone(
            "SELECT count(*) FILTER (WHERE quarantined_at IS NULL),"
            " count(*) FILTER (WHERE quarantined_at IS NOT NULL)"
            " FROM inbox WHERE processed_at IS NULL"
        )
        assert row is not None
        return InboxCounts(pending=int(row[0]), quarantined=int(row[1]))

    async def quarantined(self, limit: int | None = 50) -> list[QuarantinedUpdate]:
        """Quarantined updates, newest first (all if `limit` is None)."""
        sql = (
            "SELECT update_id, payload, received_at, quarantined_at, attempts, error FROM inbox"
            " WHERE quarantined_at IS NOT NULL AND processed_at IS NULL"
            " ORDER BY quarantined_at DESC, update_id DESC"
        )
        # No LIMIT for all: PostgreSQL refuses SQLite's LIMIT -1.
        rows = await (
            self._db.fetchall(sql)
            if limit is None
            else self._db.fetchall(sql + " LIMIT ?", (limit,))
        )
        return [
            QuarantinedUpdate(
                r[0], r[1], from_iso(r[2]), from_iso(r[3]), int(r[4]), r[5] or "unknown error"
            )
            for r in rows
        ]

    async def retry(
        self, update_ids: Sequence[int] | None, actor: int | None, now: datetime
    ) -> int:
        """Put quarantined updates (all if None) back in the queue with a fresh attempt count."""
        return await self._resolve("retry", _RETRY, [], update_ids, actor, now)

    async def drop(self, update_ids: Sequence[int] | None, actor: int | None, now: datetime) -> int:
        """Give quarantined updates (all if None) up: marked processed, pruned later."""
        return await self._resolve("drop", _DROP, [iso(now), actor], update_ids, actor, now)

    async def _resolve(
        self,
        verb: str,
        sql: str,
        params: list[object],
        ids: Sequence[int] | None,
        actor: int | None,
        now: datetime,
    ) -> int:
        sql += _QUARANTINED
        if ids is not None:
            listed, wanted = self._db.dialect.int_list(list(ids))
            sql += f" AND update_id IN {listed}"
            params = [*params, *wanted]
        async with self._db.atomic() as tx:
            rows = await tx.fetchall(sql + " RETURNING update_id", params)
            done = sorted(int(r[0]) for r in rows)
            if done:
                detail = ", ".join(map(str, done[:50])) + (" ..." if len(done) > 50 else "")
                await audit.record(tx, actor, f"inbox-{verb}", detail, now)
        return len(done)

    async def prune(self, before: datetime) -> int:
        """Forget processed updates older than `before`, keeping the newest for the offset."""
        async with self._db.atomic() as tx:
            return await tx.execute(
                "DELETE FROM inbox WHERE processed_at IS NOT NULL AND processed_at < ?"
                " AND update_id < (SELECT max(update_id) FROM inbox)",
                (iso(before),),
            )
