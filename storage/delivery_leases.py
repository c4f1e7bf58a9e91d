"""Digest deliveries leased by the processes that send them (issue 12, bot/fanout.py).

A process leases a batch of due rows (claimed_by = its holder, claimed_until = the lease's
end), renews the lease while it sends, and records the batch's progress in one statement
per period. Every write after the lease is fenced by claimed_by: once another process has
taken a row over (the lease expired), the former holder's writes to it change nothing and
tell it so, and it sends nothing more of that row.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.backend import Backend
from storage.timeutil import iso

Key = tuple[int, str]  # (chat_id, period): a delivery's primary key

# status codes in the one-statement progress update (integers travel as one array)
STATUS_CODES = {"pending": 0, "sent": 1, "failed": 2}


@dataclass(frozen=True, slots=True)
class LeasedDelivery:
    chat_id: int
    period: str
    messages: tuple[str, ...]
    sent_count: int
    sending: bool  # message sent_count was on its way when its last holder stopped

    @property
    def key(self) -> Key:
        return (self.chat_id, self.period)


@dataclass(frozen=True, slots=True)
class Progress:
    """One row's new state. keep: the lease stays (more to send); otherwise it is released.
    not_before: send no earlier (a flood wait), None leaves it as it is."""

    chat_id: int
    period: str
    sent_count: int
    status: str = "pending"
    sending: bool = False
    keep: bool = True
    not_before: datetime | None = None

    @property
    def key(self) -> Key:
        return (self.chat_id, self.period)


def _values(u: Progress) -> tuple[int, int, int, int, int]:
    return (u.chat_id, u.sent_count, STATUS_CODES[u.status], int(u.sending), int(u.keep))


def by_period(keys: Iterable[Key]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = defaultdict(list)
    for chat_id, period in keys:
        grouped[period].append(chat_id)
    return grouped


class DeliveryLeases:
    """The lease half of storage.subscribers.DeliveryRepository."""

    _db: Backend

    async def lease(
        self, holder: str, now: datetime, until: datetime, limit: int, fresh_since: datetime
    ) -> list[LeasedDelivery]:
        """Up to `limit` pending rows due by `now` (not_before), unleased or whose lease has
        expired, of active subscribers, planned since `fresh_since`: leased to `holder`
        until `until`. Rows another process is leasing at the same moment are skipped."""
        dialect = self._db.dialect
        async with self._db.atomic() as conn:
            rows = await conn.fetchall(
                "UPDATE deliveries SET claimed_by = ?, claimed_until = ?"  # noqa: S608
                " WHERE (chat_id, period) IN (SELECT d.chat_id, d.period FROM deliveries d"
                "  WHERE d.status = 'pending' AND d.not_before <= ? AND d.created_at >= ?"
                "  AND (d.claimed_until IS NULL OR d.claimed_until < ?)"
                "  AND EXISTS (SELECT 1 FROM subscribers s"
                "   WHERE s.chat_id = d.chat_id AND s.active = 1)"
                f"  ORDER BY d.not_before, d.chat_id LIMIT ?{dialect.skip_locked})"
                " RETURNING chat_id, period, text_id, messages, sent_count, sending",
                (holder, iso(until), iso(now), iso(fresh_since), iso(now), limit),
            )
            text_ids = sorted({r[2] for r in rows if r[2] is not None})
            texts: dict[int, str] = {}
            if text_ids:
                ids, params = dialect.int_list(text_ids)
                texts = {
                    r[0]: r[1]
                    for r in await conn.fetchall(
                        f"SELECT id, messages FROM digest_texts WHERE id IN {ids}",  # noqa: S608
                        params,
                    )
                }
        parsed: dict[str, tuple[str, ...]] = {}
        leased = []
        for chat_id, period, text_id, own, sent_count, sending in rows:
            text = texts[text_id] if text_id is not None else own
            if text not in parsed:
                parsed[text] = tuple(json.loads(text))
            leased.append(LeasedDelivery(chat_id, period, parsed[text], sent_count, sending == 1))
        leased.sort(key=lambda d: d.key)
        return leased

    async def planned(self, chat_ids: Sequence[int], period: str) -> set[int]:
        """Those of `chat_ids` whose delivery of `period` is planned for leased sending."""
        ids, params = self._db.dialect.int_list(chat_ids)
        rows = await self._db.fetchall(
            "SELECT chat_id FROM deliveries WHERE period = ? AND not_before IS NOT NULL"  # noqa: S608
            f" AND chat_id IN {ids}",
            [period, *params],
        )
        return {r[0] for r in rows}

    async def renew(self, holder: str, keys: Sequence[Key], until: datetime) -> set[Key]:
        """Extend the lease of those of `keys` still held by `holder`; returns them."""
        return await self._fenced(
            "UPDATE deliveries SET claimed_until = ? FROM {rows}"
            " WHERE deliveries.period = ? AND deliveries.chat_id = v.chat_id"
            " AND deliveries.claimed_by = ? RETURNING deliveries.chat_id",
            [iso(until)],
            holder,
            keys,
        )

    async def release(self, holder: str, keys: Sequence[Key]) -> set[Key]:
        """Give back those of `keys` still held by `holder` (whatever their state)."""
        return await self._fenced(
            "UPDATE deliveries SET claimed_by = NULL, claimed_until = NULL FROM {rows}"
            " WHERE deliveries.period = ? AND deliveries.chat_id = v.chat_id"
            " AND deliveries.claimed_by = ? RETURNING deliveries.chat_id",
            [],
            holder,
            keys,
        )

    async def record(self, holder: str, updates: Sequence[Progress], now: datetime) -> set[Key]:
        """Write the progress of many rows: one statement per period and flood-wait end, all
        in one transaction. Only rows `holder` still holds change; returns their keys."""
        groups: dict[tuple[str, datetime | None], list[Progress]] = defaultdict(list)
        for update in updates:
            groups[(update.period, update.not_before)].append(update)
        dialect = self._db.dialect
        written: set[Key] = set()
        async with self._db.atomic() as conn:
            for (period, not_before), group in groups.items():
                values, params = dialect.int_rows(
                    "v",
                    ("chat_id", "sent", "code", "sending", "keep"),
                    [_values(u) for u in group],
                )
                until = None if not_before is None else iso(not_before)
                rows = await conn.fetchall(
                    "UPDATE deliveries SET sent_count = v.sent, sending = v.sending,"  # noqa: S608
                    " status = CASE v.code WHEN 1 THEN 'sent' WHEN 2 THEN 'failed'"
                    "  ELSE 'pending' END,"
                    " claimed_by = CASE WHEN v.keep = 1 THEN claimed_by END,"
                    " claimed_until = CASE WHEN v.keep = 1 THEN claimed_until END,"
                    " not_before = coalesce(?, not_before), updated_at = ?"
                    f" FROM {values} WHERE deliveries.period = ?"
                    " AND deliveries.chat_id = v.chat_id AND deliveries.claimed_by = ?"
                    " RETURNING deliveries.chat_id",
                    [until, iso(now), *params, period, holder],
                )
                written |= {(r[0], period) for r in rows}
        return written

    async def _fenced(
        self, sql: str, before: list[object], holder: str, keys: Sequence[Key]
    ) -> set[Key]:
        dialect = self._db.dialect
        done: set[Key] = set()
        async with self._db.atomic() as conn:
            for period, chat_ids in by_period(keys).items():
                values, params = dialect.int_rows("v", ("chat_id",), [(c,) for c in chat_ids])
                rows = await conn.fetchall(
                    sql.format(rows=values), [*before, *params, period, holder]
                )
                done |= {(r[0], period) for r in rows}
        return done
