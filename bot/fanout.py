"""The daily digest fanned out through leases, shared by every process on PostgreSQL.

The leader's digest job plans each due period's deliveries (rows with their messages,
`not_before` now: plan_due), then sends like any `framewatch worker`: a process leases a
batch of due rows (LEASE_BATCH), sends them CONCURRENT_SENDS at a time while renewing the
lease, and records progress through a group commit (bot/fanout_journal.py). A process that
dies leaves its lease to expire (settings.lease_seconds); another then takes the rows over.

Once, not twice: before each message goes out its row is marked in flight (`sending`), in a
write fenced by the lease, and only a sender whose mark was written sends. A row taken over
with the mark still set was on its way when its sender died: Telegram may or may not have
it, and nothing can tell. It is counted as sent, not sent again (at most once: a digest lost
in that instant rather than a duplicate, as for a send that timed out in bot.delivery).
A flood wait (RetryAfter) postpones its row (not_before) and frees it, so the rest of the
batch goes on; another lease sends it when the wait is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.context import Services
from bot.delivery import (
    DeliveryOutcome,
    DeliveryReport,
    load_period,
    render_view,
    send_html,
    settle_refusal,
)
from bot.digest_plan import due_batches
from bot.fanout_charts import charts_for
from bot.fanout_journal import Journal
from bot.periods import latest_period
from bot.trend_digest import send_chart
from storage.delivery_leases import LeasedDelivery, Progress

log = logging.getLogger(__name__)

# Batch sizes and concurrency, in one place. A lease is small enough that several processes
# share a fan-out (a few seconds of sending at Telegram's 30 messages/s) and big enough
# that leasing is not the pace; each process sends CONCURRENT_SENDS at once.
LEASE_BATCH = 64
CONCURRENT_SENDS = 16
NETWORK_PAUSE = timedelta(seconds=30)  # a row whose send failed on the network waits this
FRESH_FOR = timedelta(days=2)  # a row planned longer ago is an old period's: left alone


async def plan_due(services: Services, now: datetime) -> int:
    """Record every due delivery (composed once per distinct digest) for leased sending;
    returns how many subscribers are due. Rows already planned keep their state."""
    due = 0
    loaded = {}
    for batch in await due_batches(services, now):
        due += len(batch.chat_ids)
        # Planned already (being sent, or waiting for a flood wait): not composed again.
        planned = await services.deliveries.planned(batch.chat_ids, batch.period.key)
        chat_ids = [c for c in batch.chat_ids if c not in planned]
        if not chat_ids:
            continue
        span = (batch.period.start, batch.period.end)
        if span not in loaded:
            loaded[span] = await load_period(services, *span)
        messages = render_view(loaded[span], batch.view)
        await services.deliveries.claim_many(chat_ids, batch.period.key, messages, now, due=now)
    return due


async def deliver_leased(bot: Bot, services: Services) -> DeliveryReport:
    """The leader's daily delivery on PostgreSQL: plan, then send leases until none is left
    (rows other processes hold are theirs to send)."""
    settings = services.settings
    now = services.clock()
    report = DeliveryReport(latest_period(now, settings.digest_time, settings.zone).key)
    due = await plan_due(services, now)
    while await fan_out_batch(services, bot, report):
        pass
    if due:
        log.info(
            "daily digest (%d subscribers due): this process sent %d, deactivated %d, postponed %d",
            due,
            len(report.sent),
            len(report.deactivated),
            len(report.postponed),
        )
    return report


async def digest_step(services: Services, bot: Bot) -> int:
    """A worker's step (bot/worker.py): send one lease of due deliveries, if any."""
    return await fan_out_batch(services, bot)


async def fan_out_batch(services: Services, bot: Bot, report: DeliveryReport | None = None) -> int:
    """Lease one batch of due rows and send them; returns how many rows it leased."""
    async with services.delivery_lock:  # one batch at a time per process
        now = services.clock()
        rows = await services.deliveries.lease(
            services.holder,
            now,
            now + timedelta(seconds=services.settings.lease_seconds),
            LEASE_BATCH,
            now - FRESH_FOR,
        )
        if not rows:
            return 0
        renewing = asyncio.ensure_future(_renew(services, [r.key for r in rows]))
        try:
            outcomes = await _send_all(services, bot, rows)
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            # Whatever is still held (a sender that failed unexpectedly) goes back.
            await services.deliveries.release(services.holder, [r.key for r in rows])
        if report is not None:
            for row, outcome in zip(rows, outcomes, strict=True):
                if outcome is not None:
                    report.add(outcome, row.chat_id)
        return len(rows)


async def _renew(services: Services, keys: list[tuple[int, str]]) -> None:
    """Keep the batch's lease while it is sent (finished rows are released already). A
    failed renewal is logged and tried again: should the lease run out meanwhile, the fenced
    writes stop this process from sending rows another has taken over."""
    seconds = services.settings.lease_seconds
    while True:
        await asyncio.sleep(seconds / 3)
        until = services.clock() + timedelta(seconds=seconds)
        try:
            held = await services.deliveries.renew(services.holder, keys, until)
        except Exception as exc:  # the database: the senders will meet it too
            log.warning("could not renew the lease of %d deliveries: %s", len(keys), exc)
            continue
        keys = [k for k in keys if k in held]


async def _send_all(
    services: Services, bot: Bot, rows: list[LeasedDelivery]
) -> list[DeliveryOutcome | None]:
    journal = Journal(services)
    gate = asyncio.Semaphore(CONCURRENT_SENDS)
    charts = await charts_for(services, rows)

    async def one(row: LeasedDelivery) -> DeliveryOutcome | None:
        async with gate:
            outcome = await _send_row(services, bot, journal, row)
            chart = charts.get(row.chat_id)
            if outcome is DeliveryOutcome.SENT and chart is not None:
                # recorded before it is sent: at most once, whichever process sends it
                await send_chart(bot, services, row.chat_id, row.period, chart)
            return outcome

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(row)) for row in rows]
    return [task.result() for task in tasks]


async def _send_row(
    services: Services, bot: Bot, journal: Journal, row: LeasedDelivery
) -> DeliveryOutcome | None:
    """Send what is left of one row; None if another process took it over meanwhile."""
    chat_id, period, messages = row.chat_id, row.period, row.messages
    sent = row.sent_count
    if row.sending:
        log.warning(
            "digest %s to %s: message %d was on its way when its sender stopped; counted as "
            "sent, not sent again",
            period,
            chat_id,
            sent,
        )
        sent += 1
    while sent < len(messages):
        if not await journal.write(Progress(chat_id, period, sent, sending=True)):
            return None  # the lease was lost: the row is another process's now
        try:
            await send_html(bot, chat_id, messages[sent])
        except TimedOut:
            # Maybe delivered: counted as sent, as in bot.delivery (a gap, not a duplicate).
            log.warning("digest %s to %s: timed out, not resending %d", period, chat_id, sent)
        except (Forbidden, BadRequest, ChatMigrated) as exc:
            return await _give_up(services, journal, row, sent, exc)
        except (RetryAfter, NetworkError) as exc:
            wait = NETWORK_PAUSE
            if isinstance(exc, RetryAfter):
                wait = timedelta(seconds=_seconds(exc.retry_after))
            log.warning("digest %s to %s postponed by %s: %s", period, chat_id, wait, exc)
            later = services.clock() + wait
            await journal.write(Progress(chat_id, period, sent, keep=False, not_before=later))
            return DeliveryOutcome.POSTPONED
        sent += 1
    if not await journal.write(Progress(chat_id, period, sent, "sent", keep=False)):
        return None
    return DeliveryOutcome.SENT


async def _give_up(
    services: Services, journal: Journal, row: LeasedDelivery, sent: int, exc: Exception
) -> DeliveryOutcome | None:
    """As bot.delivery._give_up: recorded as failed; a chat that is gone is unsubscribed."""
    chat_id, period = row.chat_id, row.period
    if not await journal.write(Progress(chat_id, period, sent, "failed", keep=False)):
        return None
    return await settle_refusal(services, chat_id, period, exc)


def _seconds(value: object) -> float:
    """RetryAfter.retry_after: a timedelta (PTB_TIMEDELTA) or seconds."""
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]
