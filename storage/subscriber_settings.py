"""Each chat's own digest settings (/settings): time, time zone, framings, compact form.

A missing row or a NULL column means the bot's default; the callers resolve defaults
(bot.subscriber_settings), so a changed default reaches every chat that never chose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage import audit
from storage.backend import Backend, Tx
from storage.timeutil import iso


@dataclass(frozen=True, slots=True)
class SubscriberPrefs:
    """A chat's stored choices; None where it follows the bot's default."""

    chat_id: int
    digest_time: str | None = None  # "HH:MM"
    timezone: str | None = None  # IANA name
    compact: bool = False
    framings: tuple[str, ...] | None = None  # chosen slugs, sorted; None: all framings


# The single-value changes, by the name callers use: whole statements, no SQL built.
_UPDATES = {
    "time": "UPDATE subscriber_settings SET digest_time = ?, updated_at = ? WHERE chat_id = ?",
    "tz": "UPDATE subscriber_settings SET timezone = ?, updated_at = ? WHERE chat_id = ?",
    "compact": "UPDATE subscriber_settings SET compact = ?, updated_at = ? WHERE chat_id = ?",
}


@dataclass(frozen=True, slots=True)
class DuePeriod:
    """One schedule's latest period, as the delivery asks storage who is due for it."""

    digest_time: str  # "HH:MM", the bot's default filled in
    timezone: str
    period: str  # the delivery key: the local date of the digest
    ends: datetime  # only subscribers who subscribed by then are due


# Schedules per query: 5 parameters each, well under SQLite's 32,766.
_SCHEDULES_PER_QUERY = 500

_SELECTIONS = (
    "SELECT sf.chat_id, f.slug FROM subscriber_framings sf"
    " JOIN framings f ON f.id = sf.framing_id"
    " JOIN subscriber_settings ss ON ss.chat_id = sf.chat_id AND ss.all_framings = 0"
)


class SubscriberSettingsRepository:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def get(self, chat_id: int) -> SubscriberPrefs:
        row = await self._db.fetchone(
            "SELECT digest_time, timezone, compact, all_framings FROM subscriber_settings"
            " WHERE chat_id = ?",
            (chat_id,),
        )
        if row is None:
            return SubscriberPrefs(chat_id)
        chosen = None
        if not row[3]:
            rows = await self._db.fetchall(_SELECTIONS + " WHERE sf.chat_id = ?", (chat_id,))
            chosen = tuple(sorted(r[1] for r in rows))
        return SubscriberPrefs(chat_id, row[0], row[1], bool(row[2]), chosen)

    async def set_value(
        self, chat_id: int, name: str, value: str | bool | None, actor: int | None, now: datetime
    ) -> None:
        """Set one of "time", "tz" (None: the bot's default) or "compact"; audited."""
        update = _UPDATES[name]  # a KeyError is a programming error, not user input
        stored = int(value) if isinstance(value, bool) else value
        async with self._db.atomic() as tx:
            await _ensure_row(tx, chat_id, now)
            await tx.execute(update, (stored, iso(now), chat_id))
            await audit.record(tx, actor, "settings", f"chat {chat_id}: {name} {value}", now)

    async def set_framings(
        self, chat_id: int, framing_ids: Sequence[int] | None, actor: int | None, now: datetime
    ) -> None:
        """Choose these framings (None: all, including those added later); audited.

        Ids of framings removed meanwhile are skipped rather than failing the change.
        """
        async with self._db.atomic() as tx:
            await _ensure_row(tx, chat_id, now)
            await tx.execute(
                "UPDATE subscriber_settings SET all_framings = ?, updated_at = ? WHERE chat_id = ?",
                (int(framing_ids is None), iso(now), chat_id),
            )
            await tx.execute("DELETE FROM subscriber_framings WHERE chat_id = ?", (chat_id,))
            if framing_ids:  # one statement for the whole choice
                listed, params = tx.dialect.int_list(framing_ids)
                chosen = f"SELECT ?, id FROM framings WHERE id IN {listed}"  # noqa: S608 (the dialect's subquery)
                await tx.execute(
                    f"INSERT INTO subscriber_framings (chat_id, framing_id) {chosen}"
                    " ON CONFLICT (chat_id, framing_id) DO NOTHING",
                    (chat_id, *params),
                )
            shown = "all" if framing_ids is None else ",".join(map(str, sorted(framing_ids)))
            await audit.record(tx, actor, "settings", f"chat {chat_id}: framings {shown}", now)

    async def schedules(self, default_time: str, default_zone: str) -> list[tuple[str, str]]:
        """The distinct (HH:MM, zone) of active subscribers, defaults filled in."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT coalesce(ss.digest_time, ?), coalesce(ss.timezone, ?)"
            " FROM subscribers s LEFT JOIN subscriber_settings ss ON ss.chat_id = s.chat_id"
            " WHERE s.active = 1 ORDER BY 1, 2",
            (default_time, default_zone),
        )
        return [(r[0], r[1]) for r in rows]

    async def due(
        self, periods: Sequence[DuePeriod], defaults: tuple[str, str]
    ) -> list[tuple[DuePeriod, SubscriberPrefs]]:
        """Active subscribers on each period's (HH:MM, zone) schedule, subscribed before its
        end, with no finished delivery of it: what each of them chose. One pass over the
        subscribers for all schedules (the delivery job asks every minute)."""
        # Chunks only keep each statement under SQLite's parameter limit (a handful of
        # schedules per chunk); the chosen framings are read once, if anyone chose some.
        rows: list[tuple[DuePeriod, Any]] = []
        for first in range(0, len(periods), _SCHEDULES_PER_QUERY):
            chunk = periods[first : first + _SCHEDULES_PER_QUERY]
            # n cast: PostgreSQL would type an untyped VALUES column as text.
            values = ", ".join(["(CAST(? AS INTEGER), ?, ?, ?, ?)"] * len(chunk))
            params: list[object] = []
            for index, due in enumerate(chunk):
                params += [index, due.digest_time, due.timezone, due.period, iso(due.ends)]
            found = await self._db.fetchall(
                f"WITH due(n, at, zone, period, ends) AS (VALUES {values})"  # noqa: S608 placeholders only
                " SELECT due.n, s.chat_id, ss.digest_time, ss.timezone,"
                " coalesce(ss.compact, 0), coalesce(ss.all_framings, 1)"
                " FROM subscribers s LEFT JOIN subscriber_settings ss ON ss.chat_id = s.chat_id"
                " JOIN due ON due.at = coalesce(ss.digest_time, ?)"
                "  AND due.zone = coalesce(ss.timezone, ?)"
                " WHERE s.active = 1 AND s.subscribed_at <= due.ends"
                " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.chat_id = s.chat_id"
                "  AND d.period = due.period AND d.status <> 'pending')"
                " ORDER BY s.chat_id",
                (*params, *defaults),
            )
            rows += [(chunk[r[0]], r) for r in found]
        chosen = await self._selections() if any(not r[5] for _, r in rows) else {}
        return [
            (
                period,
                SubscriberPrefs(
                    r[1], r[2], r[3], bool(r[4]), None if r[5] else chosen.get(r[1], ())
                ),
            )
            for period, r in rows
        ]

    async def _selections(self) -> dict[int, tuple[str, ...]]:
        chosen: dict[int, list[str]] = {}
        for chat_id, slug in await self._db.fetchall(_SELECTIONS):
            chosen.setdefault(chat_id, []).append(slug)
        return {chat_id: tuple(sorted(slugs)) for chat_id, slugs in chosen.items()}


async def _ensure_row(tx: Tx, chat_id: int, now: datetime) -> None:
    await tx.execute(
        "INSERT INTO subscriber_settings (chat_id, updated_at) VALUES (?, ?)"
        " ON CONFLICT (chat_id) DO NOTHING",
        (chat_id, iso(now)),
    )
