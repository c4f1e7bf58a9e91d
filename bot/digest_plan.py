"""Which daily digests are due now: each subscriber's own period, grouped by what it shows.

A subscriber's period is the day ending at their own digest time in their own zone, keyed
by that local date (bot.periods). The key, not the time, is what a delivery is recorded
under, so a subscriber who moves their time gets at most one digest per local date: moving
it later on a day already delivered waits for the next day, never sends the same day twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.context import Services
from bot.periods import Period, latest_period
from bot.subscriber_settings import DigestView, default_schedule, schedule_from, view_of
from storage.subscriber_settings import DuePeriod, SubscriberSettingsRepository


@dataclass(frozen=True, slots=True)
class Batch:
    """Subscribers due the same digest: the same period, the same view."""

    period: Period
    view: DigestView
    chat_ids: tuple[int, ...]


async def due_batches(services: Services, now: datetime) -> list[Batch]:
    """Every active subscriber whose digest time has come and who has no finished delivery
    of their latest period, grouped so that each distinct digest is composed once."""
    settings = services.settings
    repo = SubscriberSettingsRepository(services.db)
    defaults = default_schedule(settings)
    periods: dict[DuePeriod, Period] = {}
    for at, zone in await repo.schedules(*defaults):
        schedule = schedule_from(at, zone, settings)
        period = latest_period(now, schedule.at, schedule.zone)
        periods[DuePeriod(at, zone, period.key, period.end)] = period
    groups: dict[tuple[DuePeriod, str, frozenset[str] | None, bool], list[int]] = {}
    views: dict[tuple[DuePeriod, str, frozenset[str] | None, bool], DigestView] = {}
    for due, prefs in await repo.due(list(periods), defaults):
        view = view_of(prefs, settings)
        key = (due, view.zone.key, view.framings, view.compact)
        views.setdefault(key, view)
        groups.setdefault(key, []).append(prefs.chat_id)
    return [Batch(periods[key[0]], views[key], tuple(chats)) for key, chats in groups.items()]
