"""storage.inbox: attempts, quarantine, retry and drop on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.db import Database
from storage.inbox import MAX_ATTEMPTS, InboxRepository
from storage.models import InboxUpdate

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def test_failures_quarantine_after_max_attempts_or_at_once_when_final(
    db: Database,
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


async def test_retry_and_drop_touch_only_quarantined_rows_and_are_audited(db: Database) -> None:
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


async def test_elements_without_an_update_id_never_set_the_offset(db: Database) -> None:
    inbox = InboxRepository(db)
    await inbox.save([InboxUpdate(-5, '"x"')], NOW)
    assert await inbox.next_offset() is None  # a negative offset would replay history
    await inbox.save([InboxUpdate(7, "{}")], NOW)
    assert await inbox.next_offset() == 8
