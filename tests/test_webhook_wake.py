"""What wakes the leader's webhook intake on PostgreSQL (bot/webhook.py): the inbox's NOTIFY
at commit (storage/inbox.py, storage/pg/notify.py) and, should one be lost, the short poll
for untried rows. In one process, on the throwaway PostgreSQL of tests/pg_server.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.app import build_application
from bot.context import Services
from bot.database import open_db
from bot.inbox import DurablePoller
from bot.webhook import WebhookConfig, WebhookIntake
from handlers import ALLOWED_UPDATES
from storage.inbox import INBOX_CHANNEL, InboxRepository
from storage.models import InboxUpdate
from storage.pg.notify import NotifyListener
from tests.conftest import FakeClock, Harness, make_settings
from tests.fake_telegram import FakeTelegram
from tests.test_run_errors import closed_port
from tests.test_webhook_instances import SECRET, URL, command, inbox_state


async def test_a_save_of_new_updates_notifies_listeners_at_commit_and_a_repeat_does_not(
    pg_url: str,
) -> None:
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = NotifyListener(pg_url, INBOX_CHANNEL, heard.put_nowait)
    db = await open_db(pg_url)
    try:
        assert await listener.ensure()  # starts listening now
        assert not await listener.ensure()  # already listening
        inbox = InboxRepository(db)
        rows = [InboxUpdate(n, json.dumps({"update_id": n})) for n in (12, 11)]
        assert await inbox.save(rows, FakeClock()()) == 2
        async with asyncio.timeout(30):
            assert await heard.get() == "11"  # the lowest update_id of the batch
        assert await inbox.save(rows[:1], FakeClock()()) == 0
        assert await inbox.save([InboxUpdate(13, "{}")], FakeClock()()) == 1
        async with asyncio.timeout(30):
            assert await heard.get() == "13"  # the repeat sent nothing before it
    finally:
        await listener.close()
        await db.close()


# ---- in one process: what wakes the leader ------------------------------------------------


@pytest.fixture
async def pg_harness(pg_url: str, tmp_path: Path, tg: FakeTelegram) -> AsyncIterator[Harness]:
    """The real application on PostgreSQL (a Harness as tests/conftest.py's, on pg_url)."""
    settings = make_settings(tmp_path, tg.base_url, database_url=pg_url)
    db = await open_db(pg_url)
    services = Services.create(settings, db, FakeClock())
    app = build_application(settings, services)
    try:
        async with app:
            poller = DurablePoller(app, services, ALLOWED_UPDATES, poll_timeout=0)
            yield Harness(tg, services, app, poller, FakeClock())
    finally:
        await services.close()
        await db.close()


async def leading(
    harness: Harness, poll_seconds: float
) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """A leader's intake whose own listener nobody POSTs to: only the inbox wakes it."""
    config = WebhookConfig(URL, SECRET, "127.0.0.1", closed_port())
    intake = WebhookIntake(
        harness.app,
        harness.services,
        harness.poller,
        config,
        ALLOWED_UPDATES,
        retry_seconds=3600,  # no periodic full round in these tests
        poll_seconds=poll_seconds,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(intake.run(stop))
    await harness.tg.wait_for_request("setWebhook")
    return stop, task


async def test_an_update_another_instance_saves_wakes_the_leader_by_notify(
    pg_harness: Harness, pg_url: str, tg: FakeTelegram
) -> None:
    stop, task = await leading(pg_harness, poll_seconds=3600)  # no polling: only NOTIFY
    other = await open_db(pg_url)  # another instance's listener, on a pool of its own
    try:
        body = json.dumps(command(1))
        assert await InboxRepository(other).save([InboxUpdate(7001, body)], FakeClock()()) == 1
        await tg.wait_for_sent(1, chat_id=9001, timeout=30)
    finally:
        stop.set()
        await task
        await other.close()
    assert await inbox_state(pg_url) == (1, 1, 0)


async def test_a_row_saved_without_a_notification_is_found_by_the_poll(
    pg_harness: Harness, pg_url: str, tg: FakeTelegram
) -> None:
    stop, task = await leading(pg_harness, poll_seconds=0.05)
    conn = await asyncpg.connect(pg_url)
    try:  # a plain INSERT: no NOTIFY, as if the listening session had been down
        await conn.execute(
            "INSERT INTO inbox (update_id, payload, received_at) VALUES ($1, $2, $3)",
            7002,
            json.dumps(command(2)),
            "2026-01-01T00:00:00+00:00",
        )
        await tg.wait_for_sent(1, chat_id=9002, timeout=30)
    finally:
        stop.set()
        await task
        await conn.close()
    assert await inbox_state(pg_url) == (1, 1, 0)
