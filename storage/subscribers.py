"""Subscribers of the daily digest and the record of what each was sent, per period."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from storage import audit
from storage.backend import Backend
from storage.delivery_leases import DeliveryLeases
from storage.models import Delivery
from storage.timeutil import iso


class SubscriberRepository:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def subscribe(self, chat_id: int, now: datetime) -> bool:
        """Turn the daily digest on; False if it already was."""
        async with self._db.atomic() as conn:
            changed = (
                await conn.execute(
                    "INSERT INTO subscribers (chat_id, active, subscribed_at, updated_at)"
                    " VALUES (?, 1, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET"
                    " active = 1, note = '', subscribed_at = excluded.subscribed_at,"
                    " updated_at = excluded.updated_at WHERE subscribers.active = 0",
                    (chat_id, iso(now), iso(now)),
                )
                == 1
            )
            if changed:
                await audit.record(conn, chat_id, "subscribe", "", now)
            return changed

    async def unsubscribe(self, chat_id: int, now: datetime, note: str = "") -> bool:
        """Turn the daily digest off; False if it was not on."""
        async with self._db.atomic() as conn:
            changed = (
                await conn.execute(
                    "UPDATE subscribers SET active = 0, note = ?, updated_at = ?"
                    " WHERE chat_id = ? AND active = 1",
                    (note, iso(now), chat_id),
                )
                == 1
            )
            if changed:
                await audit.record(conn, chat_id, "unsubscribe", note, now)
            return changed

    async def is_active(self, chat_id: int) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM subscribers WHERE chat_id = ? AND active = 1", (chat_id,)
        )
        return row is not None

    async def due(self, period: str, subscribed_before: datetime) -> list[int]:
        """Active subscribers who subscribed before the digest time and lack this period's."""
        rows = await self._db.fetchall(
            "SELECT s.chat_id FROM subscribers s WHERE s.active = 1 AND s.subscribed_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.chat_id = s.chat_id"
            "  AND d.period = ? AND d.status <> 'pending')"
            " ORDER BY s.chat_id",
            (iso(subscribed_before), period),
        )
        return [r[0] for r in rows]

    async def count_active(self) -> int:
        return int(await self._db.fetchval("SELECT count(*) FROM subscribers WHERE active = 1"))


# Rows written before digest_texts existed carry their own messages.
_SELECT = (
    "SELECT d.chat_id, coalesce(t.messages, d.messages), d.sent_count, d.status"
    " FROM deliveries d LEFT JOIN digest_texts t ON t.id = d.text_id"
)


class DeliveryRepository(DeliveryLeases):
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def claim(
        self, chat_id: int, period: str, messages: Sequence[str], now: datetime
    ) -> Delivery:
        """The delivery of this period, created with these messages if it does not exist yet.

        Once created, its messages never change: a restart resumes the same text.
        """
        (delivery,) = await self.claim_many([chat_id], period, messages, now)
        return delivery

    async def claim_many(
        self,
        chat_ids: Sequence[int],
        period: str,
        messages: Sequence[str],
        now: datetime,
        due: datetime | None = None,
    ) -> list[Delivery]:
        """claim() for many subscribers in one transaction, in the order given.

        Every delivery is recorded (messages and sent count) before the first message goes
        out, so a restart resumes each one instead of sending it again. `due`: the rows are
        planned for leased sending (bot/fanout.py) from then on; a pending row planned
        before keeps its time.
        """
        text = json.dumps(list(messages))
        planned = None if due is None else iso(due)
        async with self._db.atomic() as conn:
            # The text is kept once (digest_texts), not once per subscriber: 10,000
            # subscribers would otherwise store 10,000 copies of the same digest a day.
            await conn.execute(
                "INSERT INTO digest_texts (messages) VALUES (?) ON CONFLICT DO NOTHING", (text,)
            )
            same = conn.dialect.same_text("messages")
            text_id = await conn.fetchval(
                f"SELECT id FROM digest_texts WHERE {same}",  # noqa: S608 - fixed fragment
                (text,),
            )
            assert text_id is not None  # inserted just above, or already there
            await conn.executemany(
                "INSERT INTO deliveries (chat_id, period, messages, text_id, not_before,"
                " created_at, updated_at) VALUES (?, ?, '', ?, ?, ?, ?)"
                " ON CONFLICT (chat_id, period) DO UPDATE SET not_before = excluded.not_before"
                " WHERE excluded.not_before IS NOT NULL AND deliveries.not_before IS NULL"
                " AND deliveries.status = 'pending'",
                [(chat_id, period, text_id, planned, iso(now), iso(now)) for chat_id in chat_ids],
            )
            # One read of the period's rows (an index on period) instead of one per subscriber.
            rows = {
                r[0]: r for r in await conn.fetchall(_SELECT + " WHERE d.period = ?", (period,))
            }
        # Most rows share the text just inserted: parse each distinct text once.
        parsed: dict[str, tuple[str, ...]] = {text: tuple(messages)}
        deliveries = []
        for chat_id in chat_ids:
            _, stored, sent_count, status = rows[chat_id]
            if stored not in parsed:
                parsed[stored] = tuple(json.loads(stored))
            deliveries.append(Delivery(chat_id, period, parsed[stored], sent_count, status))
        return deliveries

    async def progress(
        self, chat_id: int, period: str, sent_count: int, status: str, now: datetime
    ) -> None:
        await self.progress_many([(chat_id, period, sent_count, status)], now)

    async def progress_many(
        self, updates: Sequence[tuple[int, str, int, str]], now: datetime
    ) -> None:
        """Record (chat_id, period, sent_count, status) of several deliveries in one commit."""
        async with self._db.atomic() as conn:
            await conn.executemany(
                "UPDATE deliveries SET sent_count = ?, status = ?, updated_at = ?"
                " WHERE chat_id = ? AND period = ?",
                [
                    (sent, status, iso(now), chat_id, period)
                    for chat_id, period, sent, status in updates
                ],
            )

    async def get(self, chat_id: int, period: str) -> Delivery | None:
        row = await self._db.fetchone(
            _SELECT + " WHERE d.chat_id = ? AND d.period = ?", (chat_id, period)
        )
        if row is None:
            return None
        return Delivery(chat_id, period, tuple(json.loads(row[1])), row[2], row[3])
