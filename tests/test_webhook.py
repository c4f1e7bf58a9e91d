"""The webhook intake (bot/webhook.py): the real application, the fake Bot API, and the
test POSTing to the listener as Telegram would."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from bot.config import ConfigError
from bot.webhook import SECRET_HEADER, WebhookConfig, WebhookIntake
from handlers import ALLOWED_UPDATES
from tests.conftest import ADMIN, STRANGER, Harness
from tests.fake_telegram import FakeTelegram, channel_post, private_message
from tests.test_run_errors import closed_port

SECRET = "webhook-Secret_value-never-logged-42"
URL = "https://bot.example.org/telegram/hook"


@dataclass
class Listener:
    harness: Harness
    intake: WebhookIntake
    url: str
    session: aiohttp.ClientSession
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def post(
        self, body: bytes | dict[str, Any], secret: str | None = SECRET, **headers: str
    ) -> int:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        if secret is not None:
            headers[SECRET_HEADER] = secret
        headers.setdefault("Content-Type", "application/json")
        body_file = io.BytesIO(data)  # aiohttp warns about large raw bytes
        async with self.session.post(self.url, data=body_file, headers=headers) as response:
            await response.read()
            return response.status

    async def finish(self) -> None:
        """Stop the intake; it drains the handlers already started."""
        self.stop.set()
        await self.task

    async def stored(self, update_id: int) -> int:
        return int(
            await self.harness.db.fetchval(
                "SELECT count(*) FROM inbox WHERE update_id = ?", (update_id,)
            )
        )


def make_intake(harness: Harness, port: int, retry_seconds: float = 30.0) -> WebhookIntake:
    config = WebhookConfig(URL, SECRET, "127.0.0.1", port)
    return WebhookIntake(
        harness.app, harness.services, harness.poller, config, ALLOWED_UPDATES, retry_seconds
    )


@pytest.fixture
async def listener(harness: Harness) -> AsyncIterator[Listener]:
    port = closed_port()
    stop = asyncio.Event()
    intake = make_intake(harness, port)
    task = asyncio.create_task(intake.run(stop))
    await harness.tg.wait_for_request("setWebhook")  # sent once the listener is up
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{port}/telegram/hook"
        here = Listener(harness, intake, url, session, stop, task)
        try:
            yield here
        finally:
            if not task.done():
                await here.finish()


def update(update_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {"update_id": update_id, **payload}


async def test_the_webhook_is_registered_with_url_secret_and_allowed_updates(
    listener: Listener, tg: FakeTelegram
) -> None:
    assert tg.webhook is not None
    assert tg.webhook["url"] == URL
    assert tg.webhook["secret_token"] == SECRET
    assert tg.webhook["allowed_updates"] == ALLOWED_UPDATES
    assert tg.webhook["drop_pending_updates"] is False
    await listener.finish()
    assert tg.webhook is not None, "a stop leaves the webhook registered"
    assert tg.requests_for("deleteWebhook") == []


async def test_a_posted_command_is_saved_once_and_answered(
    listener: Listener, tg: FakeTelegram
) -> None:
    message = update(700, private_message(STRANGER, "/start"))
    assert await listener.post(message) == 200
    replies = await tg.wait_for_sent(1, chat_id=STRANGER)
    assert "FrameWatch" in replies[0].text
    assert await listener.post(message) == 200  # Telegram retried: saved and answered once
    await listener.finish()
    assert await listener.stored(700) == 1
    assert len(tg.sent_to(STRANGER)) == 1
    assert await listener.harness.services.inbox.unprocessed() == []


async def test_a_channel_post_is_stored_like_a_polled_one(
    listener: Listener, tg: FakeTelegram
) -> None:
    post = update(800, channel_post(-1001234, 55, text="Киевский режим опять"))
    assert await listener.post(post) == 200
    assert await listener.post(post) == 200
    # A later update's answer means the post's round has started; the stop drains it.
    assert await listener.post(update(801, private_message(STRANGER, "/help"))) == 200
    await tg.wait_for_sent(1, chat_id=STRANGER)
    await listener.finish()
    db = listener.harness.db
    assert await listener.stored(800) == 1
    assert await db.fetchval(
        "SELECT text FROM posts WHERE chat_id = ? AND message_id = ?", (-1001234, 55)
    ) == ("Киевский режим опять")
    assert await db.fetchval("SELECT processed_at IS NOT NULL FROM inbox WHERE update_id = 800")


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET[:-1], SECRET + "x", "sécret"])
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_saved(
    listener: Listener, secret: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    body = update(900, private_message(STRANGER, "/start"))
    assert await listener.post(body, secret=secret) == 403
    assert await listener.stored(900) == 0
    assert "refused a request" in caplog.text
    assert SECRET not in caplog.text and SECRET[:-1] not in caplog.text


async def test_a_flood_of_refused_requests_is_logged_once_a_minute_per_kind(
    listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot")
    body = update(950, private_message(STRANGER, "/start"))
    for _ in range(30):
        assert await listener.post(body, secret="wrong") == 403
        assert await listener.post(b"{not json") == 400
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 2  # one line per kind, not one per request
    assert "secret token" in refusals[0] and "not a Telegram update" in refusals[1]
    listener.harness.clock.now += timedelta(minutes=1)
    assert await listener.post(body, secret="wrong") == 403
    last = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()][-1]
    assert "secret token (29 more refused like it since the last such line)" in last
    assert await listener.post(body) == 200  # the right secret is never held back
    assert await listener.stored(950) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[1, 2]",
        b'"update"',
        b'{"message": {}}',
        b'{"update_id": "901"}',
        b'{"update_id": -5}',
        b'{"update_id": true}',
        b'{"update_id": 1.5}',
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,
    ],
)
async def test_a_body_that_is_not_an_update_is_refused_and_the_server_keeps_serving(
    listener: Listener, tg: FakeTelegram, body: bytes
) -> None:
    assert await listener.post(body) == 400
    assert await listener.harness.services.inbox.unprocessed() == []
    assert await listener.post(update(902, private_message(STRANGER, "/start"))) == 200
    await tg.wait_for_sent(1, chat_id=STRANGER)


async def test_a_huge_body_is_refused_unsaved(listener: Listener, tg: FakeTelegram) -> None:
    big = update(903, private_message(STRANGER, "x" * (2 << 20)))
    assert await listener.post(big) == 413
    assert await listener.stored(903) == 0
    assert await listener.post(update(904, private_message(STRANGER, "/start"))) == 200
    await tg.wait_for_sent(1, chat_id=STRANGER)


async def test_an_unparseable_update_is_saved_and_retried_not_lost(
    listener: Listener, tg: FakeTelegram
) -> None:
    """Valid JSON with an update_id that PTB cannot parse: saved (Telegram got its 200) and
    handled as a polled one is: a failed attempt, retried later, then quarantined."""
    assert await listener.post(update(905, {"message": "hello"})) == 200
    assert await listener.post(update(906, private_message(STRANGER, "/start"))) == 200
    await tg.wait_for_sent(1, chat_id=STRANGER)  # its round tried 905 first (lower id)
    await listener.finish()
    row = await listener.harness.db.fetchone(
        "SELECT attempts, error, processed_at, quarantined_at FROM inbox WHERE update_id = 905"
    )
    assert row is not None
    # Tried once: the next POST's round starts after 905; only the periodic round retries.
    assert row[0] == 1 and "AttributeError" in row[1]
    assert row[2] is None and row[3] is None


async def test_an_update_saved_but_not_handled_before_a_stop_is_replayed_at_start(
    harness: Harness, tg: FakeTelegram
) -> None:
    await harness.services.inbox.save(
        [posted(update(950, private_message(STRANGER, "/start")))], harness.clock()
    )
    port = closed_port()
    stop = asyncio.Event()
    task = asyncio.create_task(make_intake(harness, port).run(stop))
    await tg.wait_for_sent(1, chat_id=STRANGER)
    stop.set()
    await task
    assert await harness.services.inbox.unprocessed() == []


def posted(body: dict[str, Any]) -> Any:
    from bot.raw_updates import posted_row

    row = posted_row(json.dumps(body).encode())
    assert row is not None
    return row


async def test_a_refused_set_webhook_is_one_line_without_the_secret(
    harness: Harness, tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    tg.fail("setWebhook", status=400, description=f"Bad Request: bad secret {SECRET}")
    intake = make_intake(harness, closed_port())
    with pytest.raises(ConfigError) as raised:
        await intake.run(asyncio.Event())
    message = str(raised.value)
    # PTB drops "Bad Request: " and capitalize()s the rest, lowercasing the secret quoted.
    assert message == f"Telegram refused the webhook {URL}: Bad secret [REDACTED]"
    assert "\n" not in message
    assert SECRET.lower() not in caplog.text.lower()


async def test_a_port_in_use_is_a_config_error(harness: Harness, listener: Listener) -> None:
    port = int(listener.url.split(":")[2].split("/")[0])
    intake = make_intake(harness, port)
    with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
        await intake.run(asyncio.Event())


async def test_a_rate_limited_set_webhook_is_tried_again(
    harness: Harness, tg: FakeTelegram
) -> None:
    tg.fail("setWebhook", status=429, retry_after=1)
    stop = asyncio.Event()
    task = asyncio.create_task(make_intake(harness, closed_port()).run(stop))
    await tg.wait_for_request("setWebhook", count=2)
    stop.set()
    await task
    assert [r.status for r in tg.requests_for("setWebhook")] == [429, 200]
    assert tg.webhook is not None and tg.webhook["url"] == URL


async def test_a_failing_update_is_retried_by_the_periodic_round_then_set_aside(
    harness: Harness, tg: FakeTelegram
) -> None:
    port = closed_port()
    stop = asyncio.Event()
    task = asyncio.create_task(make_intake(harness, port, retry_seconds=0.05).run(stop))
    await tg.wait_for_request("setWebhook")
    async with aiohttp.ClientSession() as session:
        headers = {SECRET_HEADER: SECRET}
        body = update(960, {"message": "hello"})
        url = f"http://127.0.0.1:{port}/telegram/hook"
        async with session.post(url, json=body, headers=headers) as response:
            assert response.status == 200
    (notice,) = await tg.wait_for_sent(1, chat_id=ADMIN)  # the admins hear of the quarantine
    stop.set()
    await task
    assert "960" in notice.text
    row = await harness.db.fetchone(
        "SELECT attempts, quarantined_at FROM inbox WHERE update_id = 960"
    )
    assert row is not None and row[0] == 3 and row[1] is not None


async def test_an_update_arriving_after_a_higher_id_is_handled_too(
    listener: Listener, tg: FakeTelegram
) -> None:
    """Telegram POSTs over parallel connections: a lower update_id can arrive second."""
    assert await listener.post(update(1001, private_message(STRANGER, "/start"))) == 200
    await tg.wait_for_sent(1, chat_id=STRANGER)
    assert await listener.post(update(1000, private_message(ADMIN, "/start"))) == 200
    await tg.wait_for_sent(1, chat_id=ADMIN)
    await listener.finish()
    assert await listener.harness.services.inbox.unprocessed() == []
    assert len(tg.sent_to(STRANGER)) == 1


# The disk is "full" for the inbox: every insert into it fails (PostgreSQL: disk_full).
FULL = {
    "sqlite": [
        "CREATE TRIGGER inbox_full BEFORE INSERT ON inbox BEGIN SELECT RAISE(ABORT, 'full'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION fw_full() RETURNS trigger LANGUAGE plpgsql AS"
        " $$BEGIN RAISE EXCEPTION 'full' USING ERRCODE = '53100'; END$$",
        "CREATE TRIGGER inbox_full BEFORE INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION fw_full()",
    ],
}
NOT_FULL = {
    "sqlite": ["DROP TRIGGER inbox_full"],
    "postgresql": ["DROP TRIGGER inbox_full ON inbox"],
}


async def test_a_failed_save_answers_500_so_telegram_sends_it_again(
    listener: Listener, tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    db = listener.harness.db
    async with db.atomic() as tx:
        for sql in FULL[db.dialect.name]:
            await tx.execute(sql)
    message = update(1100, private_message(STRANGER, "/start"))
    assert await listener.post(message) == 500
    assert await listener.stored(1100) == 0
    assert "could not save update 1100" in caplog.text
    async with db.atomic() as tx:
        for sql in NOT_FULL[db.dialect.name]:
            await tx.execute(sql)
    assert await listener.post(message) == 200  # Telegram's retry
    await tg.wait_for_sent(1, chat_id=STRANGER)
    assert await listener.stored(1100) == 1


async def test_updates_posted_at_once_are_each_saved_once_and_answered(
    listener: Listener, tg: FakeTelegram
) -> None:
    users = range(5000, 5020)
    bodies = [update(1200 + n, private_message(u, "/start")) for n, u in enumerate(users)]
    statuses = await asyncio.gather(*(listener.post(b) for b in bodies + bodies[:5]))
    assert set(statuses) == {200}
    await tg.wait_for_sent(len(users))
    await listener.finish()
    assert all(len(tg.sent_to(u)) == 1 for u in users)
    count = await listener.harness.db.fetchval(
        "SELECT count(*) FROM inbox WHERE update_id BETWEEN 1200 AND 1219"
    )
    assert count == len(users)
