"""Spike alerts (opt-in per subscriber) and the digest's chart: who gets them, and the
record of each one written before it is sent (migration 0010)."""

from __future__ import annotations

from datetime import datetime

from storage import audit
from storage.backend import Backend
from storage.timeutil import iso


class AlertRepository:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def set_alerts(self, chat_id: int, on: bool, now: datetime) -> bool | None:
        """Turn alerts on or off for an active subscriber: whether it changed, or None if
        the chat is not subscribed."""
        async with self._db.atomic() as tx:
            row = await tx.fetchone(
                "SELECT alerts FROM subscribers WHERE chat_id = ? AND active = 1", (chat_id,)
            )
            if row is None:
                return None
            if bool(row[0]) == on:
                return False
            await tx.execute(
                "UPDATE subscribers SET alerts = ?, updated_at = ? WHERE chat_id = ?",
                (int(on), iso(now), chat_id),
            )
            await audit.record(tx, chat_id, "alerts on" if on else "alerts off", "", now)
            return True

    async def alerts_on(self, chat_id: int) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM subscribers WHERE chat_id = ? AND active = 1 AND alerts = 1",
            (chat_id,),
        )
        return row is not None

    async def subscribers(self) -> list[int]:
        """Active subscribers who turned alerts on."""
        rows = await self._db.fetchall(
            "SELECT chat_id FROM subscribers WHERE active = 1 AND alerts = 1 ORDER BY chat_id"
        )
        return [r[0] for r in rows]

    async def claim(self, framing: str, day: str, chat_id: int, text: str, now: datetime) -> bool:
        """Record the alert as being sent; False if it was sent (or begun) already.

        A 'postponed' alert (surely not delivered) is claimed again; a 'pending' one was
        begun by a process that died, and may have arrived: it is never sent twice.
        """
        async with self._db.atomic() as tx:
            if await tx.execute(
                "INSERT INTO alerts_sent (framing_slug, day, chat_id, status, text,"
                " created_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)"
                " ON CONFLICT (framing_slug, day, chat_id) DO NOTHING",
                (framing, day, chat_id, text, iso(now), iso(now)),
            ):
                return True
            return (
                await tx.execute(
                    "UPDATE alerts_sent SET status = 'pending', updated_at = ?"
                    " WHERE framing_slug = ? AND day = ? AND chat_id = ? AND status = 'postponed'",
                    (iso(now), framing, day, chat_id),
                )
                == 1
            )

    async def finish(
        self, framing: str, day: str, chat_id: int, status: str, now: datetime
    ) -> None:
        async with self._db.atomic() as tx:
            await tx.execute(
                "UPDATE alerts_sent SET status = ?, updated_at = ?"
                " WHERE framing_slug = ? AND day = ? AND chat_id = ?",
                (status, iso(now), framing, day, chat_id),
            )

    async def sent(self, chat_id: int) -> list[tuple[str, str, str]]:
        """(framing, day, status) of every alert recorded for the chat."""
        rows = await self._db.fetchall(
            "SELECT framing_slug, day, status FROM alerts_sent WHERE chat_id = ?"
            " ORDER BY day, framing_slug",
            (chat_id,),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def claim_chart(self, chat_id: int, period: str, now: datetime) -> bool:
        """Record the digest chart of this period as sent; False if it already was."""
        async with self._db.atomic() as tx:
            return (
                await tx.execute(
                    "INSERT INTO delivery_charts (chat_id, period, sent_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (chat_id, period) DO NOTHING",
                    (chat_id, period, iso(now)),
                )
                == 1
            )
