"""Trends in the digest: each framing's status over the period, and the chart of the
surging ones attached to the daily digest (sent once per subscriber and period)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.context import Services
from bot.localdays import local_day
from bot.telegram_text import MAX_CAPTION, Piece, Text, render
from bot.trend_data import load_trends, trend_params
from bot.trend_status import TrendDay, TrendStatus, status_of
from storage.alerts import AlertRepository

log = logging.getLogger(__name__)

CHART_DAYS = 30
CHART_FRAMINGS = 4  # surging framings drawn in the digest's chart


@dataclass(frozen=True, slots=True)
class Chart:
    png: bytes
    caption: str  # HTML


def period_days(start: datetime, end: datetime, services: Services) -> list[date]:
    """The local days that [start, end) touches."""
    tz = services.settings.zone
    first, last = local_day(start, tz), local_day(end - timedelta(seconds=1), tz)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


async def period_trends(
    services: Services, start: datetime, end: datetime
) -> dict[str, TrendStatus]:
    days = period_days(start, end, services)
    settings = services.settings
    series = await load_trends(
        services.db, settings.zone, days[0], days[-1], trend_params(settings)
    )
    found = {slug: status_of(rows, days) for slug, rows in series.items()}
    return {slug: status for slug, status in found.items() if status is not None}


async def surging_chart(
    services: Services, start: datetime, end: datetime, only: frozenset[str] | None = None
) -> Chart | None:
    """The last CHART_DAYS days of the framings surging in the period (of those in `only`,
    a subscriber's chosen framings; None: all), or None."""
    statuses = await period_trends(services, start, end)
    chosen = [s for s in statuses.items() if only is None or s[0] in only]
    surging = sorted((s for s in chosen if s[1].state == "surging"), key=lambda s: s[1].p_value)[
        :CHART_FRAMINGS
    ]
    if not surging:
        return None
    last = period_days(start, end, services)[-1]
    series = await last_days(services, last, CHART_DAYS)
    shown = {slug: series.get(slug, []) for slug, _ in surging}
    return Chart(await draw(shown, "Surging framings"), surging_caption(surging))


async def last_days(services: Services, last: date, count: int) -> dict[str, list[TrendDay]]:
    settings = services.settings
    first = last - timedelta(days=count - 1)
    return await load_trends(services.db, settings.zone, first, last, trend_params(settings))


async def draw(series: dict[str, list[TrendDay]], title: str) -> bytes:
    from bot.charts import render_trends

    # Drawing takes a few hundred milliseconds of CPU: keep the event loop free meanwhile.
    return await asyncio.to_thread(render_trends, series, title)


def surging_caption(surging: list[tuple[str, TrendStatus]]) -> str:
    line: list[Piece] = ["Surging: "]
    for index, (slug, _) in enumerate(surging):
        line += [", "] if index else []
        line += ["<b>", Text(slug), "</b>"]
    line.append(f" · daily posts, last {CHART_DAYS} days")
    return render([line], MAX_CAPTION)[0]


async def send_chart(bot: Bot, services: Services, chat_id: int, period: str, chart: Chart) -> None:
    """Send the digest's chart once: recorded first, so a restart never sends it again
    (a crash in between loses the chart rather than doubling it)."""
    if not await AlertRepository(services.db).claim_chart(chat_id, period, services.clock()):
        return
    try:
        await bot.send_photo(chat_id, chart.png, caption=chart.caption, parse_mode=ParseMode.HTML)
    except TelegramError as exc:
        # The digest itself went out; the chart is an extra and is not retried.
        log.warning("digest %s to %s: chart not sent (%s)", period, chat_id, type(exc).__name__)
