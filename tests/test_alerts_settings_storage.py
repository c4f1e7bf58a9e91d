"""storage.alerts and storage.subscriber_settings by themselves, on SQLite and on PostgreSQL
(tests.backends.any_db). The bot's use of them is in tests/test_e2e_trends.py,
tests/test_settings.py and tests/test_settings_delivery.py (through the harness, on both too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.alerts import AlertRepository
from storage.backend import Backend
from storage.framings import FramingRepository
from storage.subscriber_settings import DuePeriod, SubscriberPrefs, SubscriberSettingsRepository
from storage.subscribers import DeliveryRepository, SubscriberRepository

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DEFAULTS = ("09:00", "Europe/Kyiv")


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Every test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


async def audit_rows(db: Backend) -> list[tuple[object, ...]]:
    rows = await db.fetchall("SELECT user_id, action, detail FROM audit_log ORDER BY id")
    return [tuple(r) for r in rows]


async def framing_ids(db: Backend, *slugs: str) -> dict[str, int]:
    framings = FramingRepository(db)
    for slug in slugs:
        await framings.add_term(slug, f"{slug} term", f"{slug} term", 7, NOW)
    return {slug: framing_id for framing_id, (slug, _) in (await framings.names()).items()}


# --- alerts ----------------------------------------------------------------------------------


async def test_alerts_are_for_active_subscribers_and_audited_when_they_change(
    db: Backend,
) -> None:
    alerts, subscribers = AlertRepository(db), SubscriberRepository(db)
    assert await alerts.set_alerts(10, True, NOW) is None  # not subscribed
    for chat in (10, 11, 12):
        await subscribers.subscribe(chat, NOW)
    assert await alerts.set_alerts(12, True, NOW) is True
    assert await alerts.set_alerts(10, True, NOW) is True
    assert await alerts.set_alerts(10, True, NOW) is False  # already on: nothing written
    assert await alerts.set_alerts(11, False, NOW) is False
    assert await alerts.alerts_on(10) and not await alerts.alerts_on(11)
    assert await alerts.subscribers() == [10, 12]
    await subscribers.unsubscribe(12, NOW)
    assert await alerts.subscribers() == [10]  # only active ones
    assert not await alerts.alerts_on(12)
    assert await alerts.set_alerts(10, False, NOW) is True
    assert await alerts.subscribers() == []
    assert [row for row in await audit_rows(db) if "alerts" in str(row[1])] == [
        (12, "alerts on", ""),
        (10, "alerts on", ""),
        (10, "alerts off", ""),
    ]


async def test_an_alert_is_claimed_once_unless_postponed(db: Backend) -> None:
    alerts = AlertRepository(db)
    await SubscriberRepository(db).subscribe(10, NOW)
    assert await alerts.claim("war", "2026-11-25", 10, "Spike", NOW) is True
    assert await alerts.claim("war", "2026-11-25", 10, "Spike", NOW) is False  # pending
    assert await alerts.claim("war", "2026-11-26", 10, "Spike", NOW) is True  # another day
    await alerts.finish("war", "2026-11-26", 10, "postponed", NOW)
    assert await alerts.claim("war", "2026-11-26", 10, "Spike again", NOW) is True
    await alerts.finish("war", "2026-11-25", 10, "sent", NOW)
    assert await alerts.claim("war", "2026-11-25", 10, "Spike", NOW) is False
    assert await alerts.sent(10) == [
        ("war", "2026-11-25", "sent"),
        ("war", "2026-11-26", "pending"),
    ]
    text = "SELECT text FROM alerts_sent WHERE day = '2026-11-26'"
    assert await db.fetchval(text) == "Spike"  # a new claim keeps the first text
    assert await alerts.sent(11) == []


async def test_a_digest_chart_is_claimed_once_per_period(db: Backend) -> None:
    alerts = AlertRepository(db)
    await SubscriberRepository(db).subscribe(10, NOW)
    assert await alerts.claim_chart(10, "2026-11-25", NOW) is True
    assert await alerts.claim_chart(10, "2026-11-25", NOW) is False
    assert await alerts.claim_chart(10, "2026-11-26", NOW) is True
    assert await db.fetchval("SELECT count(*) FROM delivery_charts") == 2


# --- subscriber settings ---------------------------------------------------------------------


async def test_settings_default_then_set_and_audited(db: Backend) -> None:
    settings = SubscriberSettingsRepository(db)
    assert await settings.get(10) == SubscriberPrefs(10)
    await settings.set_value(10, "time", "07:30", 5, NOW)
    await settings.set_value(10, "tz", "UTC", 5, NOW)
    await settings.set_value(10, "compact", True, 5, NOW)
    assert await settings.get(10) == SubscriberPrefs(10, "07:30", "UTC", True, None)
    await settings.set_value(10, "tz", None, 5, NOW)  # back to the bot's default
    await settings.set_value(10, "compact", False, 5, NOW)
    assert await settings.get(10) == SubscriberPrefs(10, "07:30", None, False, None)
    assert await db.fetchval("SELECT count(*) FROM subscriber_settings") == 1
    assert await audit_rows(db) == [
        (5, "settings", "chat 10: time 07:30"),
        (5, "settings", "chat 10: tz UTC"),
        (5, "settings", "chat 10: compact True"),
        (5, "settings", "chat 10: tz None"),
        (5, "settings", "chat 10: compact False"),
    ]


async def test_framing_choice_skips_removed_ids_and_all_clears_it(db: Backend) -> None:
    settings = SubscriberSettingsRepository(db)
    ids = await framing_ids(db, "alpha", "beta", "gamma")
    gone = max(ids.values()) + 100
    await settings.set_framings(10, [ids["gamma"], ids["alpha"], ids["alpha"], gone], 5, NOW)
    assert (await settings.get(10)).framings == ("alpha", "gamma")
    await settings.set_framings(10, [ids["beta"]], 5, NOW)  # replaces the choice
    assert (await settings.get(10)).framings == ("beta",)
    await settings.set_framings(10, [], 5, NOW)  # none chosen is not all
    assert (await settings.get(10)).framings == ()
    await settings.set_framings(10, None, 5, NOW)
    assert (await settings.get(10)).framings is None
    assert await db.fetchval("SELECT count(*) FROM subscriber_framings") == 0
    chosen = ",".join(map(str, sorted([ids["gamma"], ids["alpha"], ids["alpha"], gone])))
    details = [row[2] for row in await audit_rows(db) if row[1] == "settings"]
    assert details == [
        f"chat 10: framings {chosen}",  # what was asked, as it was asked
        f"chat 10: framings {ids['beta']}",
        "chat 10: framings ",
        "chat 10: framings all",
    ]


async def test_schedules_and_due_over_many_periods_with_choices(db: Backend) -> None:
    settings, subscribers = SubscriberSettingsRepository(db), SubscriberRepository(db)
    ids = await framing_ids(db, "alpha", "beta")
    before = NOW - timedelta(days=1)
    for chat in (1, 2, 3, 4, 5):
        await subscribers.subscribe(chat, before)
    await settings.set_value(2, "tz", "UTC", None, before)
    await settings.set_value(3, "time", "18:00", None, before)
    await settings.set_framings(3, [ids["beta"]], None, before)
    await settings.set_value(4, "compact", True, None, before)
    await DeliveryRepository(db).claim(5, "2026-11-25", ["x"], before)
    await DeliveryRepository(db).progress(5, "2026-11-25", 1, "sent", before)
    assert await settings.schedules(*DEFAULTS) == [
        ("09:00", "Europe/Kyiv"),
        ("09:00", "UTC"),
        ("18:00", "Europe/Kyiv"),
    ]
    # Many schedules no one is on, and the three that have subscribers: n (each period's
    # place in the list) comes back as a number on both databases.
    nobody = [
        DuePeriod(f"{h:02}:{m:02}", "Asia/Tokyo", "2026-11-25", NOW)
        for h in range(24)
        for m in range(60)
    ]
    kyiv = DuePeriod("09:00", "Europe/Kyiv", "2026-11-25", NOW)
    utc = DuePeriod("09:00", "UTC", "2026-11-25", NOW)
    evening = DuePeriod("18:00", "Europe/Kyiv", "2026-11-25", NOW)
    found = await settings.due([*nobody, utc, evening, kyiv], DEFAULTS)
    assert [(due, prefs.chat_id) for due, prefs in found] == [
        (kyiv, 1),
        (utc, 2),
        (evening, 3),
        (kyiv, 4),
    ]  # 5 has its digest of the period already
    assert found[2][1] == SubscriberPrefs(3, digest_time="18:00", framings=("beta",))
    assert found[3][1] == SubscriberPrefs(4, compact=True)
    early = DuePeriod("09:00", "Europe/Kyiv", "2026-11-25", before - timedelta(seconds=1))
    assert await settings.due([early], DEFAULTS) == []  # subscribed after its end
