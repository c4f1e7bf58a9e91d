"""storage.inbox: attempts, quarantine, retry and drop, on SQLite and on PostgreSQL
(tests.backends.any_db)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.backend import Backend
from storage.inbox import MAX_ATTEMPTS, InboxRepository
from storage.models import InboxUpdate

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Every test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


async def test_failures_quarantine_after_max_attempts_or_at_once_when_final(
    db: Backend,
) -> None:
    inbox = InboxRepository(db)
    await inbox.save([InboxUpdate(i, "{}") for i in (10, 11, 12)], NOW)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert await inbox.record_failure(10, NOW, "KeyError: 'x'") is (attempt == MAX_ATTEMPTS)
    assert await inbox.record_failure(11, NOW, "ValueError: y", final=True) is True
    assert [u.update_id for u in await inbox.unprocessed()] == [12]
    assert [u.update_id for u in await inbox.unprocessed(after=11)] == [12]
    counts = await inbox.counts()
    assert (counts.pending, counts.quarantined) == (1, 2)
    listed = [(q.update_id, q.attempts, q.error) for q in await inbox.quarantined()]
    assert listed == [(11, 1, "ValueError: y"), (10, 3, "KeyError: 'x'")]  # newest first


async def test_retry_and_drop_touch_only_quarantined_rows_and_are_audited(db: Backend) -> None:
    inbox = InboxRepository(db)
    await inbox.save([InboxUpdate(i, "{}") for i in (20, 21, 22)], NOW)
    await inbox.record_failure(20, NOW, "E: a", final=True)
    await inbox.record_failure(21, NOW, "E: b", final=True)
    assert await inbox.retry([22, 99], 1, NOW) == 0  # pending or unknown: nothing changes
    assert await inbox.retry([20], 1, NOW) == 1
    assert [u.update_id for u in await inbox.unprocessed()] == [20, 22]
    assert await db.fetchval("SELECT attempts FROM inbox WHERE update_id = 20") == 0
    assert await inbox.drop(None, 1, NOW) == 1  # all: only 21 is quarantined
    assert await db.fetchval("SELECT dropped_by FROM inbox WHERE update_id = 21") == 1
    audit = await db.fetchall("SELECT user_id, action, detail FROM audit_log ORDER BY id")
    assert [tuple(a) for a in audit] == [(1, "inbox-retry", "20"), (1, "inbox-drop", "21")]


async def test_elements_without_an_update_id_never_set_the_offset(db: Backend) -> None:
    inbox = InboxRepository(db)
    await inbox.save([InboxUpdate(-5, '"x"')], NOW)
    assert await inbox.next_offset() is None  # a negative offset would replay history
    await inbox.save([InboxUpdate(7, "{}")], NOW)
    assert await inbox.next_offset() == 8


async def test_save_counts_only_new_updates_even_repeated_in_one_batch(db: Backend) -> None:
    inbox = InboxRepository(db)
    assert await inbox.save([], NOW) == 0
    batch = [InboxUpdate(1, '{"first": 1}'), InboxUpdate(2, "{}"), InboxUpdate(1, '{"again": 1}')]
    assert await inbox.save(batch, NOW) == 2
    assert await inbox.save([InboxUpdate(2, "{}"), InboxUpdate(3, "{}")], NOW) == 1
    assert await inbox.unprocessed() == [
        InboxUpdate(1, '{"first": 1}'),  # the first copy wins
        InboxUpdate(2, "{}"),
        InboxUpdate(3, "{}"),
    ]


async def test_quarantine_listing_limit_and_bulk_retry_by_ids(db: Backend) -> None:
    inbox = InboxRepository(db)
    await inbox.save([InboxUpdate(i, "{}") for i in range(1, 121)], NOW)
    for update_id in range(1, 121):
        later = NOW + timedelta(seconds=update_id)
        assert await inbox.record_failure(update_id, later, "E", final=True)
    assert len(await inbox.quarantined()) == 50  # the default limit
    everything = await inbox.quarantined(limit=None)
    assert [q.update_id for q in everything] == list(range(120, 0, -1))  # newest first
    assert everything[0].quarantined_at == NOW + timedelta(seconds=120)
    assert await inbox.retry(list(range(1, 61)), 9, NOW) == 60  # one statement for all 60
    assert [u.update_id for u in await inbox.unprocessed(limit=1000)] == list(range(1, 61))
    assert (await inbox.counts()).quarantined == 60
    detail = await db.fetchval("SELECT detail FROM audit_log WHERE action = 'inbox-retry'")
    assert detail == ", ".join(map(str, range(1, 51))) + " ..."
    assert await inbox.drop([], 9, NOW) == 0  # an empty choice is none, not all
    assert await inbox.drop([61, 62, 5], 9, NOW) == 2  # 5 is pending again
    assert (await inbox.counts()).quarantined == 58


async def test_a_processed_update_counts_no_failure(db: Backend) -> None:
    inbox = InboxRepository(db)
    await inbox.save([InboxUpdate(4, "{}")], NOW)
    await inbox.mark_processed(4, NOW)
    assert await inbox.record_failure(4, NOW, "E", final=True) is False
    assert await inbox.record_failure(404, NOW, "E", final=True) is False  # unknown
    assert (await inbox.counts()).quarantined == 0


async def test_untried_lists_only_pending_rows_never_attempted(db: Backend) -> None:
    """The leader's short poll (bot/webhook.py) looks for these: a failed row waits for
    its periodic retry instead of being tried every poll."""
    inbox = InboxRepository(db)
    await inbox.save([InboxUpdate(i, "{}") for i in (20, 21, 22)], NOW)
    await inbox.record_failure(20, NOW, "KeyError: 'x'")
    await inbox.mark_processed(21, NOW)
    assert [u.update_id for u in await inbox.unprocessed(untried=True)] == [22]
    assert [u.update_id for u in await inbox.unprocessed()] == [20, 22]
