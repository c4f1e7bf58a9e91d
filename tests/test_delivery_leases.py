"""Deliveries leased by the processes that send them (storage/delivery_leases.py), on SQLite
and PostgreSQL: a lease takes due rows once, an expired lease is taken over, every write
after it is fenced by the holder."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from storage.backend import Backend
from storage.delivery_leases import Progress
from storage.subscribers import DeliveryRepository, SubscriberRepository

PERIOD = "2026-11-25"
NOW = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
OLD = NOW - timedelta(days=2)


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Each test once on SQLite, once on PostgreSQL."""
    return any_db


async def planned(db: Backend, count: int, due: datetime | None = NOW) -> DeliveryRepository:
    subscribers, deliveries = SubscriberRepository(db), DeliveryRepository(db)
    for chat in range(1, count + 1):
        await subscribers.subscribe(chat, NOW - timedelta(days=1))
    await deliveries.claim_many(list(range(1, count + 1)), PERIOD, ["one", "two"], NOW, due=due)
    return deliveries


async def test_a_lease_takes_due_rows_once_until_it_expires(db: Backend) -> None:
    deliveries = await planned(db, 5)
    first = await deliveries.lease("a", NOW, NOW + LEASE, 3, OLD)
    assert [(d.chat_id, d.messages, d.sent_count, d.sending) for d in first] == [
        (chat, ("one", "two"), 0, False) for chat in (1, 2, 3)
    ]
    second = await deliveries.lease("b", NOW, NOW + LEASE, 10, OLD)
    assert [d.chat_id for d in second] == [4, 5]  # the others are a's
    assert await deliveries.lease("b", NOW, NOW + LEASE, 10, OLD) == []
    # a dies: once its lease has expired, b takes its rows over
    later = NOW + LEASE + timedelta(seconds=1)
    taken = await deliveries.lease("b", later, later + LEASE, 10, OLD)
    assert [d.chat_id for d in taken] == [1, 2, 3, 4, 5]


async def test_writes_are_fenced_by_the_holder(db: Backend) -> None:
    deliveries = await planned(db, 2)
    await deliveries.lease("a", NOW, NOW + LEASE, 10, OLD)
    marks = [Progress(1, PERIOD, 0, sending=True), Progress(2, PERIOD, 0, sending=True)]
    assert await deliveries.record("a", marks, NOW) == {(1, PERIOD), (2, PERIOD)}
    later = NOW + LEASE + timedelta(seconds=1)
    taken = await deliveries.lease("b", later, later + LEASE, 10, OLD)
    assert [(d.chat_id, d.sending) for d in taken] == [(1, True), (2, True)]
    # a's late writes change nothing and say so
    assert await deliveries.record("a", [Progress(1, PERIOD, 1, "sent", keep=False)], NOW) == set()
    assert await deliveries.renew("a", [(1, PERIOD)], later + LEASE) == set()
    assert await deliveries.release("a", [(1, PERIOD)]) == set()
    # b finishes one, postpones the other by a flood wait, and frees both
    wait = later + timedelta(seconds=30)
    done = await deliveries.record(
        "b",
        [
            Progress(1, PERIOD, 2, "sent", keep=False),
            Progress(2, PERIOD, 1, keep=False, not_before=wait),
        ],
        later,
    )
    assert done == {(1, PERIOD), (2, PERIOD)}
    rows = await db.fetchall(
        "SELECT chat_id, status, sent_count, sending, claimed_by, not_before FROM deliveries"
        " ORDER BY chat_id"
    )
    assert [tuple(r) for r in rows] == [
        (1, "sent", 2, 0, None, NOW.isoformat()),
        (2, "pending", 1, 0, None, wait.isoformat()),
    ]
    assert await deliveries.lease("c", later, later + LEASE, 10, OLD) == []  # not yet
    again = await deliveries.lease("c", wait, wait + LEASE, 10, OLD)
    assert [(d.chat_id, d.sent_count) for d in again] == [(2, 1)]


async def test_renew_and_release_touch_only_the_holders_rows(db: Backend) -> None:
    deliveries = await planned(db, 3)
    await deliveries.lease("a", NOW, NOW + LEASE, 2, OLD)
    await deliveries.lease("b", NOW, NOW + LEASE, 2, OLD)
    keys = [(chat, PERIOD) for chat in (1, 2, 3)]
    assert await deliveries.renew("a", keys, NOW + 2 * LEASE) == {(1, PERIOD), (2, PERIOD)}
    assert await deliveries.release("b", keys) == {(3, PERIOD)}
    after_first = NOW + LEASE + timedelta(seconds=1)
    # 1 and 2 were renewed: still a's; 3 was released: anybody's
    assert [d.chat_id for d in await deliveries.lease("c", after_first, NOW, 10, OLD)] == [3]


async def test_unplanned_stale_and_unsubscribed_rows_are_not_leased(db: Backend) -> None:
    deliveries = await planned(db, 3, due=None)  # the one-process delivery's rows
    assert await deliveries.lease("a", NOW, NOW + LEASE, 10, OLD) == []
    await deliveries.claim_many([1, 2, 3], PERIOD, ["one", "two"], NOW, due=NOW)  # planned now
    await SubscriberRepository(db).unsubscribe(2, NOW)
    assert [d.chat_id for d in await deliveries.lease("a", NOW, NOW + LEASE, 10, OLD)] == [1, 3]
    much_later = NOW + timedelta(days=3)
    assert await deliveries.lease("b", much_later, much_later, 10, much_later - LEASE) == []


async def test_two_leases_at_once_never_share_a_row(db: Backend) -> None:
    deliveries = await planned(db, 200)
    # On PostgreSQL the pool's connections lease side by side (SKIP LOCKED); SQLite's one
    # writer takes them in turn.
    batches = await asyncio.gather(
        *(deliveries.lease(f"p{i}", NOW, NOW + LEASE, 30, OLD) for i in range(9))
    )
    chats = [d.chat_id for batch in batches for d in batch]
    assert sorted(chats) == list(range(1, 201))
