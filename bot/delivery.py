"""Composing digests and delivering the daily one exactly once per subscriber and period.

The daily delivery is idempotent: it sends only to active subscribers who have no
finished delivery for their latest period (each subscriber's own day ending at their own
digest time and zone, bot.digest_plan). It runs every minute, at the bot's digest time, at
start-up and on every catch-up tick, so a digest missed while the bot was down (or interrupted by
a network failure) goes out once, as soon as possible. Each delivery's messages are
stored before the first is sent, with a count of those sent, so a restart resumes it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.context import Services
from bot.digest import build_digest, with_propagation
from bot.digest_plan import due_batches
from bot.digest_render import render_compact, render_digest
from bot.periods import days_matched, latest_period
from bot.propagation_report import FramingPropagation, load_for
from bot.subscriber_settings import DigestView
from bot.trend_digest import Chart, period_trends, send_chart, surging_chart
from bot.trend_status import TrendStatus
from storage.models import Delivery, DigestItem

log = logging.getLogger(__name__)

RECURRENCE_WINDOW = timedelta(days=7)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# Sends in flight at once during a fan-out. AIORateLimiter keeps the overall rate at
# Telegram's 30 messages/s whatever this is; a few concurrent sends keep it busy while
# others wait on HTTP or a flood wait. Well under PTB's connection pool (256), whose
# exhaustion would surface as TimedOut, which the delivery must treat as maybe-sent.
CONCURRENT_SENDS = 16


class DeliveryOutcome(StrEnum):
    """How one subscriber's delivery of one period ended."""

    SENT = "sent"
    DEACTIVATED = "deactivated"  # the chat is gone: the subscriber was deactivated
    POSTPONED = "postponed"  # flood wait or network: the catch-up tries again
    FAILED = "failed"  # Telegram rejected a message: recorded, not retried


@dataclass(slots=True)
class DeliveryReport:
    period: str
    sent: list[int] = field(default_factory=list)
    deactivated: list[int] = field(default_factory=list)
    postponed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def add(self, outcome: DeliveryOutcome, chat_id: int) -> None:
        chats = {
            DeliveryOutcome.SENT: self.sent,
            DeliveryOutcome.DEACTIVATED: self.deactivated,
            DeliveryOutcome.POSTPONED: self.postponed,
            DeliveryOutcome.FAILED: self.failed,
        }[outcome]
        chats.append(chat_id)


@dataclass(frozen=True, slots=True)
class PeriodData:
    """What every digest of one period is made of, read once however many views it has."""

    start: datetime
    end: datetime
    items: list[DigestItem]
    times: list[tuple[str, datetime]]  # the 7 days before `end`, for recurrence
    trends: dict[str, TrendStatus]
    spread: list[FramingPropagation]


async def load_period(
    services: Services, start: datetime, end: datetime, spread: bool = True
) -> PeriodData:
    """The period's matches, recurrence, trends and (unless not needed) propagation."""
    window = services.settings.coordination_window
    return PeriodData(
        start,
        end,
        await services.matches.digest_items(start, end),
        await services.matches.match_times(end - RECURRENCE_WINDOW, end),
        await period_trends(services, start, end),
        await load_for(services.db, start, end, window) if spread else [],
    )


def render_view(data: PeriodData, view: DigestView) -> list[str]:
    """The period's digest as `view` shows it: its zone, its framings, its form."""
    tz = view.zone
    items = [i for i in data.items if view.shows(i.framing_slug)]
    recent = days_matched(data.times, tz)
    digest = build_digest(items, recent, data.start, data.end, tz, data.trends)
    if view.compact:  # one message: no room for where each framing was first seen
        return [render_compact(digest, tz)]
    return render_digest(with_propagation(digest, data.spread), tz)


async def compose(
    services: Services, start: datetime, end: datetime, view: DigestView | None = None
) -> list[str]:
    """The digest of posts dated in [start, end), as HTML messages: as `view` shows it
    (a chat's own zone, framings and form), by default in the bot's zone, everything, full."""
    view = view or DigestView(services.settings.zone)
    return render_view(await load_period(services, start, end, not view.compact), view)


async def send_html(bot: Bot, chat_id: int, text: str) -> None:
    await bot.send_message(
        chat_id, text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
    )


async def deliver_daily(bot: Bot, services: Services) -> DeliveryReport:
    async with services.delivery_lock:
        return await _deliver_due(bot, services)


async def _deliver_due(bot: Bot, services: Services) -> DeliveryReport:
    settings = services.settings
    now = services.clock()
    report = DeliveryReport(latest_period(now, settings.digest_time, settings.zone).key)
    work = await _prepare(services, now)
    if not work:
        return report
    progress = _ProgressLog(services)
    gate = asyncio.Semaphore(CONCURRENT_SENDS)

    async def deliver(delivery: Delivery, chart: Chart | None) -> None:
        async with gate:
            outcome = await _send_rest(bot, services, progress, delivery)
            if outcome is DeliveryOutcome.SENT and chart is not None:
                await send_chart(bot, services, delivery.chat_id, delivery.period, chart)
        report.add(outcome, delivery.chat_id)

    # A TaskGroup, not gather: if one send fails unexpectedly the others are cancelled
    # before the delivery lock is released, so no stray sender outlives this run.
    async with asyncio.TaskGroup() as group:
        for delivery, chart in work:
            group.create_task(deliver(delivery, chart))
    for chats in (report.sent, report.deactivated, report.postponed, report.failed):
        chats.sort()
    log.info(
        "daily digest (%d subscribers due): sent %d, deactivated %d, postponed %d",
        len(work),
        len(report.sent),
        len(report.deactivated),
        len(report.postponed),
    )
    return report


async def _prepare(services: Services, now: datetime) -> list[tuple[Delivery, Chart | None]]:
    """Every due delivery, composed and recorded before the first message goes out. Each
    period is read once, and each chart drawn once, however many views share them."""
    work: list[tuple[Delivery, Chart | None]] = []
    loaded: dict[tuple[datetime, datetime], PeriodData] = {}
    charts: dict[tuple[datetime, datetime, frozenset[str] | None], Chart | None] = {}
    for batch in await due_batches(services, now):
        period, view = batch.period, batch.view
        span = (period.start, period.end)
        if span not in loaded:
            loaded[span] = await load_period(services, *span)
        messages = render_view(loaded[span], view)
        chart_key = (*span, view.framings)
        if not view.compact and chart_key not in charts:
            charts[chart_key] = await surging_chart(services, *span, view.framings)
        chart = None if view.compact else charts[chart_key]
        deliveries = await services.deliveries.claim_many(batch.chat_ids, period.key, messages, now)
        work += [(delivery, chart) for delivery in deliveries]
    return work


class _ProgressLog:
    """Group commit of delivery progress.

    A sender waits until its message is recorded before it sends the next one, exactly as
    with one commit per message, so a crash can repeat at most the messages in flight. But
    the senders that finish while a commit runs share the next one: commits stop being
    the pace of a fan-out to thousands of subscribers.
    """

    def __init__(self, services: Services) -> None:
        self._services = services
        self._waiting: list[tuple[int, str, int, str]] = []
        self._written = 0  # how many entries of the whole run are committed
        self._queued = 0
        self._lock = asyncio.Lock()
        self._failed = False

    async def record(self, chat_id: int, period: str, sent: int, status: str) -> None:
        self._waiting.append((chat_id, period, sent, status))
        self._queued += 1
        mine = self._queued
        async with self._lock:
            if self._failed:
                # A failed commit lost a batch; counting on from it would take an
                # unwritten entry for a written one. Stop; the catch-up resumes from storage.
                raise RuntimeError("an earlier progress commit failed")
            if self._written >= mine:
                return  # a commit that ran while we waited for the lock took ours along
            batch, self._waiting = self._waiting, []
            self._failed = True
            await self._services.deliveries.progress_many(batch, self._services.clock())
            self._failed = False
            self._written += len(batch)


async def _send_rest(
    bot: Bot, services: Services, progress: _ProgressLog, delivery: Delivery
) -> DeliveryOutcome:
    """Send the messages not sent yet; returns how the delivery ended."""
    chat_id, period, messages, sent = (
        delivery.chat_id,
        delivery.period,
        delivery.messages,
        delivery.sent_count,
    )
    while sent < len(messages):
        try:
            await send_html(bot, chat_id, messages[sent])
        except TimedOut:
            # The message may well have arrived: counting it as sent risks a gap,
            # sending it again risks a duplicate. Telegram users notice duplicates more.
            log.warning(
                "digest %s to %s: timed out, not resending message %d", period, chat_id, sent
            )
        except (Forbidden, BadRequest, ChatMigrated) as exc:
            return await _give_up(services, chat_id, period, sent, exc)
        except (RetryAfter, NetworkError) as exc:
            log.warning("digest %s to %s postponed: %s", period, chat_id, exc)
            return DeliveryOutcome.POSTPONED
        sent += 1
        await progress.record(chat_id, period, sent, "sent" if sent == len(messages) else "pending")
    return DeliveryOutcome.SENT


async def _give_up(
    services: Services, chat_id: int, period: str, sent: int, exc: Exception
) -> DeliveryOutcome:
    """A failure that retrying will not fix: record it; deactivate if the chat is gone.

    Told apart by the error's kind, which python-telegram-bot derives from the HTTP status
    and parameters, never by the wording of its description: 403 Forbidden means the bot may
    not write there any more (blocked, kicked, the user deleted); ChatMigrated, that the group
    became a supergroup with another id. Any 400 Bad Request (a chat not found, missing
    rights, or our own fault) is recorded as failed and the subscriber kept: a BadRequest
    must not cost a subscriber.
    """
    await services.deliveries.progress(chat_id, period, sent, "failed", services.clock())
    return await settle_refusal(services, chat_id, period, exc)


async def settle_refusal(
    services: Services, chat_id: int, period: str, exc: Exception
) -> DeliveryOutcome:
    """After a refused delivery was recorded as failed: a chat that is gone (Forbidden, or
    ChatMigrated) is unsubscribed with a note saying why; any other refusal keeps it."""
    if isinstance(exc, Forbidden | ChatMigrated):
        note = (
            f"the group moved to {exc.new_chat_id}: /subscribe there"
            if isinstance(exc, ChatMigrated)
            else f"delivery failed: {exc}"
        )
        log.warning("digest %s to %s failed (%s): subscriber deactivated", period, chat_id, exc)
        await services.subscribers.unsubscribe(chat_id, services.clock(), note=note)
        return DeliveryOutcome.DEACTIVATED
    log.error("digest %s to %s rejected by Telegram: %s", period, chat_id, exc)
    return DeliveryOutcome.FAILED
