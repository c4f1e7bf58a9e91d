"""`framewatch inbox list|show|retry|drop` as a real process on a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from storage.db import open_database
from storage.inbox import MAX_ATTEMPTS, InboxRepository
from storage.models import InboxUpdate
from tests.cli import run_framewatch

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BAD = {"update_id": 1005, "channel_post": "hello"}


async def quarantine(db_path: Path, ids: list[int]) -> None:
    db = await open_database(db_path)
    try:
        inbox = InboxRepository(db)
        await inbox.save([InboxUpdate(i, json.dumps({**BAD, "update_id": i})) for i in ids], NOW)
        await inbox.save([InboxUpdate(2000, "{}")], NOW)  # one still waiting
        for update_id in ids:
            for _ in range(MAX_ATTEMPTS):
                await inbox.record_failure(update_id, NOW, "AttributeError: 'str' object")
    finally:
        await db.close()


async def test_list_show_retry_and_drop(tmp_path: Path) -> None:
    db = tmp_path / "fw.db"
    await quarantine(db, [1005, 1006, 1007])

    listed = run_framewatch("inbox", "list", cwd=tmp_path, db=db)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "1 update(s) waiting, 3 quarantined."
    assert lines[1] == (
        "  1007  2026-11-25 14:00  channel_post, 3 attempt(s): AttributeError: 'str' object"
    )
    assert len(lines) == 5

    shown = run_framewatch("inbox", "show", "1006", cwd=tmp_path, db=db)
    assert json.loads(shown.stdout) == {**BAD, "update_id": 1006}

    retried = run_framewatch("inbox", "retry", "1005", cwd=tmp_path, db=db)
    assert (retried.returncode, retried.stdout) == (0, "1 update(s) queued again.\n")
    dropped = run_framewatch("inbox", "drop", "--all", cwd=tmp_path, db=db)
    assert (dropped.returncode, dropped.stdout) == (0, "2 update(s) dropped.\n")
    again = run_framewatch("inbox", "drop", "1006", cwd=tmp_path, db=db)
    assert again.returncode == 2
    assert "no such quarantined update; nothing changed" in again.stderr

    listed = run_framewatch("inbox", "list", cwd=tmp_path, db=db)
    assert listed.stdout == "2 update(s) waiting, 0 quarantined.\n"
    check = await open_database(db)
    try:
        audit = await check.fetchall("SELECT user_id, action, detail FROM audit_log ORDER BY id")
        state = await check.fetchall(
            "SELECT update_id, attempts, processed_at IS NOT NULL FROM inbox ORDER BY update_id"
        )
    finally:
        await check.close()
    assert [tuple(a) for a in audit] == [
        (None, "inbox-retry", "1005"),
        (None, "inbox-drop", "1006, 1007"),
    ]
    assert [tuple(s) for s in state] == [(1005, 0, 0), (1006, 3, 1), (1007, 3, 1), (2000, 0, 0)]


def test_bad_selections_change_nothing(tmp_path: Path) -> None:
    for args, message in (
        (("retry",), "say which updates"),
        (("drop", "abc"), "'abc' is not an update id"),
        (("drop", "5", "--all"), "give update ids or --all, not both"),
    ):
        result = run_framewatch("inbox", *args, cwd=tmp_path)
        assert result.returncode == 2
        assert message in result.stderr
