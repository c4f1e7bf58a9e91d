"""Hostile updates through the real intake (issue 8): an update python-telegram-bot cannot
parse, a handler that keeps failing, elements without an update_id. Each is set aside after
a bounded number of attempts, the offset moves on, and the next updates are handled."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest

from storage.inbox import MAX_ATTEMPTS
from tests.conftest import ADMIN, STRANGER, Harness
from tests.fake_telegram import CONFLICT_DESCRIPTION, channel_post

CHANNEL = -1001000000001


async def rows(h: Harness) -> dict[int, tuple[Any, ...]]:
    """update_id -> (processed?, quarantined?, attempts, error)."""
    found = await h.db.fetchall(
        "SELECT update_id, processed_at IS NOT NULL, quarantined_at IS NOT NULL, attempts, error"
        " FROM inbox"
    )
    return {r[0]: (bool(r[1]), bool(r[2]), r[3], r[4]) for r in found}


async def start_is_answered(h: Harness, user_id: int = STRANGER) -> None:
    replies = await h.command(user_id, "/start")
    assert replies and "FrameWatch" in replies[0]


async def test_updates_ptb_cannot_parse_are_set_aside_and_the_bot_keeps_listening(
    harness: Harness,
) -> None:
    no_offset = channel_post(CHANNEL, 1, "bold words")
    no_offset["channel_post"]["entities"] = [{"type": "bold"}]  # no offset, no length
    first = harness.tg.push_update(no_offset)
    second = harness.tg.push_update({"channel_post": "hello"})

    await start_is_answered(harness)  # the same batch: before the fix, getUpdates failed here
    for _ in range(MAX_ATTEMPTS - 1):
        await start_is_answered(harness)

    saved = await rows(harness)
    assert saved[first][:3] == (False, True, MAX_ATTEMPTS)
    assert saved[second][:3] == (False, True, MAX_ATTEMPTS)
    assert saved[first][3].startswith("TypeError: ")  # the type, then a short message
    counts = await harness.services.inbox.counts()
    assert (counts.pending, counts.quarantined) == (0, 2)
    await harness.poll()
    assert harness.tg.pending_updates() == []  # all acknowledged to Telegram


async def test_a_channel_post_whose_handler_keeps_failing_is_retried_then_set_aside(
    harness: Harness,
) -> None:
    async with harness.db.atomic() as conn:  # storing posts now fails inside the handler
        await conn.execute("ALTER TABLE posts RENAME TO posts_gone")
    failing = harness.tg.push_update(channel_post(CHANNEL, 7, "first try"))
    await harness.poll()
    assert (await rows(harness))[failing][:3] == (False, False, 1)  # queued for another go
    await start_is_answered(harness)  # later updates go on meanwhile
    await harness.poll()
    assert (await rows(harness))[failing][:3] == (False, True, MAX_ATTEMPTS)
    missing_table = "OperationalError" if harness.is_sqlite else "UndefinedTableError"
    assert missing_table in (await rows(harness))[failing][3]  # the driver's error type
    await harness.poll()
    assert (await rows(harness))[failing][2] == MAX_ATTEMPTS  # set aside: not tried again

    async with harness.db.atomic() as conn:
        await conn.execute("ALTER TABLE posts_gone RENAME TO posts")
    (answer,) = await harness.command(ADMIN, f"/inbox retry {failing}")
    assert answer == "1 update(s) queued again."
    await harness.poll()
    assert (await rows(harness))[failing][:2] == (True, False)
    texts = await harness.db.fetchall("SELECT text FROM posts WHERE chat_id = ?", (CHANNEL,))
    assert [t[0] for t in texts] == ["first try"]
    audit = await harness.db.fetchall("SELECT user_id, action, detail FROM audit_log")
    assert (ADMIN, "inbox-retry", str(failing)) in [tuple(a) for a in audit]


async def test_a_failed_private_command_is_set_aside_at_once(harness: Harness) -> None:
    """The user was told nothing changed and to try again: replaying it later would
    surprise them, so it waits for an admin instead."""
    async with harness.db.atomic() as conn:
        await conn.execute("ALTER TABLE subscribers RENAME TO subscribers_gone")
    replies = await harness.command(STRANGER, "/subscribe")
    assert ["something went wrong" in r for r in replies] == [True]
    await harness.poll()
    assert harness.tg.sent_to(STRANGER)[-1].text == replies[-1]  # not replayed
    (state,) = (await rows(harness)).values()
    assert state[:3] == (False, True, 1)


async def test_elements_without_an_update_id_do_not_block(harness: Harness) -> None:
    harness.tg.push_raw({"message": {"text": "no id"}})
    harness.tg.push_raw("just a string")
    harness.tg.push_raw({"update_id": "7", "message": {}})
    await start_is_answered(harness)
    for _ in range(MAX_ATTEMPTS):
        await harness.poll()
    assert harness.tg.pending_updates() == []
    keyless = {k: v for k, v in (await rows(harness)).items() if k < 0}
    assert len(keyless) == 3
    assert all(v[1] and v[2] == MAX_ATTEMPTS for v in keyless.values())
    assert await harness.services.inbox.next_offset() == max(await rows(harness)) + 1


async def test_inbox_command_lists_the_quarantine_and_drops_on_request(
    harness: Harness,
) -> None:
    bad = harness.tg.push_update({"channel_post": "hello"})
    for _ in range(MAX_ATTEMPTS):
        await harness.poll()
    (listing,) = await harness.command(ADMIN, "/inbox")
    assert "0 waiting, 1 quarantined" in listing
    assert f"{bad}  " in listing and "channel_post, 3 attempt(s)" in listing
    assert "/inbox retry ID" in listing
    refusal = await harness.command(STRANGER, "/inbox drop all")
    assert "admin" in refusal[0]
    assert (await harness.command(ADMIN, "/inbox drop x")) == [
        "'x' is not an update id; give update ids from the list (e.g. 1005 1007), or all. "
        "Nothing changed."
    ]
    assert await harness.command(ADMIN, "/inbox drop all") == ["1 update(s) dropped."]
    assert await harness.command(ADMIN, "/inbox drop all") == [
        "No such quarantined update; nothing changed. /inbox lists them."
    ]
    assert (await rows(harness))[bad][:2] == (True, True)
    (listing,) = await harness.command(ADMIN, "/inbox")
    assert "0 waiting, 0 quarantined." in listing


async def test_a_conflict_is_one_warning_without_traceback_and_polling_goes_on(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process polling the same token (on another database) makes Telegram answer
    409: one clear warning per round, no traceback, and the loop keeps polling."""
    harness.tg.fail("getUpdates", status=409, description=CONFLICT_DESCRIPTION)
    stop = asyncio.Event()
    polling = asyncio.create_task(harness.poller.run(stop))
    await harness.tg.wait_for_request("getUpdates", count=2)  # after a 1 s back-off
    stop.set()
    async with asyncio.timeout(5):
        await polling
    assert [r.getMessage()[:60] for r in caplog.records if r.levelno >= logging.WARNING] == [
        "Telegram says another process polls with this bot token (409"
    ]
    assert not [r for r in caplog.records if r.exc_info]


async def test_admins_get_one_notice_an_hour_about_the_quarantine(harness: Harness) -> None:
    for payload in ({"channel_post": "one"}, {"channel_post": "two"}):
        harness.tg.push_update(payload)
    for _ in range(MAX_ATTEMPTS):
        await harness.poll()
    (notice,) = [m.text for m in harness.tg.sent_to(ADMIN)]
    assert notice.startswith("FrameWatch set aside 1 update(s) that could not be handled")
    assert notice.endswith("/inbox shows them, to retry or drop.")

    harness.clock.now += timedelta(hours=1)
    harness.tg.push_update({"channel_post": "three"})
    for _ in range(MAX_ATTEMPTS):
        await harness.poll()
    assert [m.text[:40] for m in harness.tg.sent_to(ADMIN)] == [
        "FrameWatch set aside 1 update(s) that co",
        "FrameWatch set aside 2 update(s) that co",  # the one held back, and the new one
    ]
