"""The chart that goes with a full digest, for leased sending (bot/fanout.py).

A leased row holds its digest's messages but not what its chart is drawn from (the period's
span and the subscriber's framings): those come from the same plan as the digest
(bot.digest_plan.due_batches), read again for each lease, so any process can send a row's
chart. Each process draws each distinct chart once (a small cache per database); the chart
of a closed period does not change.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from datetime import datetime

from bot.context import Services
from bot.digest_plan import due_batches
from bot.trend_digest import Chart, surging_chart
from storage.backend import Backend
from storage.delivery_leases import LeasedDelivery

ChartKey = tuple[datetime, datetime, frozenset[str] | None]
CACHED_CHARTS = 16  # distinct (period, framings) charts a process keeps drawn

_drawn: weakref.WeakKeyDictionary[Backend, dict[ChartKey, Chart | None]] = (
    weakref.WeakKeyDictionary()
)


async def charts_for(services: Services, rows: Sequence[LeasedDelivery]) -> dict[int, Chart]:
    """The chart of each leased row that has one (a full digest with surging framings),
    by chat id."""
    wanted = {row.chat_id: row.period for row in rows}
    charts: dict[int, Chart] = {}
    for batch in await due_batches(services, services.clock()):
        chats = [c for c in batch.chat_ids if wanted.get(c) == batch.period.key]
        if batch.view.compact or not chats:
            continue  # a compact digest is one message, without a chart
        chart = await _chart(services, (batch.period.start, batch.period.end, batch.view.framings))
        if chart is not None:
            charts.update(dict.fromkeys(chats, chart))
    return charts


async def _chart(services: Services, key: ChartKey) -> Chart | None:
    drawn = _drawn.setdefault(services.db, {})
    if key not in drawn:
        if len(drawn) >= CACHED_CHARTS:
            drawn.clear()
        drawn[key] = await surging_chart(services, *key)
    return drawn[key]
