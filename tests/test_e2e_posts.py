"""Channel posts, edits, membership and forwards through the real application."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from handlers import ALLOWED_UPDATES
from storage.models import InboxUpdate
from tests.conftest import MODERATOR, STRANGER, Harness
from tests.fake_telegram import channel_post, forwarded_channel_post, my_chat_member


async def _posts(h: Harness) -> list[tuple[int, int, str]]:
    rows = await h.db.fetchall("SELECT chat_id, message_id, text FROM posts ORDER BY id")
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_allowed_updates_are_sent_explicitly(harness: Harness) -> None:
    await harness.poll()
    assert harness.tg.allowed_updates == ALLOWED_UPDATES
    assert "channel_post" in ALLOWED_UPDATES and "my_chat_member" in ALLOWED_UPDATES


async def test_channel_post_is_stored_once_with_channel_and_date(harness: Harness) -> None:
    payload = channel_post(-1001234567890, 15, "Жест доброй воли.", username="echo", title="Echo")
    await harness.push(payload)
    await harness.push(payload)  # Telegram re-sends after a crash: the same post again
    assert await _posts(harness) == [(-1001234567890, 15, "Жест доброй воли.")]
    row = await harness.db.fetchone(
        "SELECT p.posted_at, c.username, c.title FROM posts p JOIN channels c USING (chat_id)"
    )
    assert row is not None and tuple(row) == (1_700_000_000, "echo", "Echo")


async def test_edit_keeps_the_earlier_text_as_a_version(harness: Harness) -> None:
    await harness.push(channel_post(-1001, 3, "first text"))
    await harness.push(channel_post(-1001, 3, "second text", edited=True, edit_date=1_700_000_100))
    await harness.push(channel_post(-1001, 3, "third text", edited=True, edit_date=1_700_000_200))
    assert await _posts(harness) == [(-1001, 3, "third text")]
    assert await harness.services.posts.versions(-1001, 3) == ["first text", "second text"]


async def test_caption_only_and_empty_posts(harness: Harness) -> None:
    await harness.push(channel_post(-1001, 1, caption="Фото: перегруппировка войск"))
    await harness.push(channel_post(-1001, 2))  # e.g. a sticker: no text, no caption
    assert await _posts(harness) == [
        (-1001, 1, "Фото: перегруппировка войск"),
        (-1001, 2, ""),
    ]


async def test_my_chat_member_registers_and_unregisters_channels(harness: Harness) -> None:
    await harness.push(my_chat_member(-1005, "Watchdog", "ccd"))
    channels = await harness.services.channels.list_with_stats()
    assert [(c.chat_id, c.username, c.is_member) for c in channels] == [(-1005, "ccd", True)]
    await harness.push(my_chat_member(-1005, "Watchdog", "ccd", "left", "administrator"))
    channels = await harness.services.channels.list_with_stats()
    assert [(c.chat_id, c.is_member) for c in channels] == [(-1005, False)]


async def test_forward_from_moderator_is_stored_under_the_origin_channel(harness: Harness) -> None:
    await harness.grant_roles()
    before = len(harness.tg.sent_to(MODERATOR))
    await harness.push(
        forwarded_channel_post(
            MODERATOR,
            -1001893407333,
            9340,
            "Строковое значение",
            origin_username="testsichee",
            origin_title="Тестовый канал",
            origin_date=1_700_000_500,
        )
    )
    reply = harness.tg.sent_to(MODERATOR)[before:][0].text
    assert "Stored the post from <b>Тестовый канал</b>" in reply
    assert "https://t.me/testsichee/9340" in reply
    assert await _posts(harness) == [(-1001893407333, 9340, "Строковое значение")]
    posted = await harness.db.fetchval("SELECT posted_at FROM posts")
    assert posted == 1_700_000_500  # the original post's date, not the forward's
    await harness.push(
        forwarded_channel_post(MODERATOR, -1001893407333, 9340, "Строковое значение")
    )
    assert "Already had" in harness.tg.sent_to(MODERATOR)[-1].text


async def test_forward_from_a_stranger_is_refused_and_not_stored(harness: Harness) -> None:
    await harness.push(forwarded_channel_post(STRANGER, -1009, 1, "text"))
    assert "only moderators" in harness.tg.sent_to(STRANGER)[-1].text
    assert await _posts(harness) == []


async def test_forward_from_a_person_is_explained(harness: Harness) -> None:
    await harness.grant_roles()
    payload = forwarded_channel_post(MODERATOR, -1009, 1, "text")
    message = payload["message"]
    message["forward_origin"] = {"type": "hidden_user", "sender_user_name": "Someone", "date": 1}
    del message["forward_from_chat"], message["forward_from_message_id"]
    await harness.push(payload)
    assert "from channels only" in harness.tg.sent_to(MODERATOR)[-1].text
    assert await _posts(harness) == []


async def test_saved_but_unprocessed_updates_are_replayed_once(harness: Harness) -> None:
    """What a crash after saving and before dispatching leaves behind is processed on start."""
    now = datetime(2026, 11, 25, tzinfo=UTC)
    raw = [
        {"update_id": 500, **channel_post(-1001, 1, "one")},
        {"update_id": 501, **channel_post(-1001, 2, "two")},
        {"update_id": 502, **channel_post(-1001, 1, "one, edited", edited=True)},
    ]
    saved = [InboxUpdate(u["update_id"], json.dumps(u)) for u in raw]
    assert await harness.services.inbox.save(saved, now) == 3
    assert await harness.services.inbox.save(saved, now) == 0  # saved once
    assert await harness.poller.dispatch_saved() == 3
    assert await harness.poller.dispatch_saved() == 0  # processed once
    assert await _posts(harness) == [(-1001, 1, "one, edited"), (-1001, 2, "two")]
    assert await harness.services.inbox.next_offset() == 503


async def test_a_malformed_saved_update_is_recorded_and_does_not_block(harness: Harness) -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    good = {"update_id": 601, **channel_post(-1001, 5, "fine")}
    await harness.services.inbox.save(
        [InboxUpdate(600, "{not json"), InboxUpdate(601, json.dumps(good))], now
    )
    assert await harness.poller.dispatch_saved() == 2
    assert await _posts(harness) == [(-1001, 5, "fine")]
    error = await harness.db.fetchval("SELECT error FROM inbox WHERE update_id = 600")
    assert error.startswith("JSONDecodeError")


async def test_a_failing_handler_reports_and_the_bot_keeps_going(harness: Harness) -> None:
    await harness.grant_roles()
    # Drop a table behind the bot's back: /framings now fails inside the handler.
    async with harness.db.atomic() as conn:
        await conn.execute("ALTER TABLE framings RENAME TO framings_gone")
    replies = await harness.command(MODERATOR, "/framings")
    assert replies == [
        "Sorry, something went wrong on my side and nothing was changed. Please try again "
        "in a minute; if it keeps happening, tell an admin."
    ]
    async with harness.db.atomic() as conn:
        await conn.execute("ALTER TABLE framings_gone RENAME TO framings")
    assert "No framings yet" in (await harness.command(MODERATOR, "/framings"))[0]


async def test_post_details_are_kept(harness: Harness) -> None:
    payload = channel_post(-1001, 9, caption="Фото дня", username="echo")
    message = payload["channel_post"]
    message["author_signature"] = "Editor"
    message["forward_origin"] = {
        "type": "channel",
        "chat": {"id": -1007, "type": "channel", "title": "Origin", "username": "origin"},
        "message_id": 55,
        "date": 1_700_000_000,
    }
    await harness.push(payload)
    row = await harness.db.fetchone(
        "SELECT author, media, forwarded_from, forwarded_link, views FROM posts"
    )
    assert row is not None
    assert tuple(row) == ("Editor", "photo", "Origin", "https://t.me/origin/55", None)


async def test_the_polling_loop_survives_a_bad_gateway_and_stores_the_post(
    harness: Harness,
) -> None:
    import asyncio

    harness.tg.fail("getUpdates", status=502, times=1)
    harness.tg.push_update(channel_post(-1001, 77, "after the outage"))
    stop = asyncio.Event()
    task = asyncio.create_task(harness.poller.run(stop))
    # 1: the 502, 2: the batch, 3: the call that acknowledges it (after it was stored).
    requests = await harness.tg.wait_for_request("getUpdates", count=3, timeout=10)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert [r.status for r in requests[:2]] == [502, 200]
    assert await _posts(harness) == [(-1001, 77, "after the outage")]


async def test_joining_a_channel_first_seen_on_the_web_moves_its_posts(harness: Harness) -> None:
    from storage.chat_ids import synthetic_chat_id
    from storage.models import IncomingPost

    synthetic = synthetic_chat_id("echo_front")
    web_post = IncomingPost(
        chat_id=synthetic,
        message_id=42,
        posted_at=datetime(2026, 11, 20, tzinfo=UTC),
        text="read from t.me/s",
        channel_title="Echo",
        channel_username="echo_front",
        source="web",
    )
    await harness.services.posts.store(web_post, harness.clock())
    await harness.push(my_chat_member(-1001777, "Echo", "echo_front"))
    assert await _posts(harness) == [(-1001777, 42, "read from t.me/s")]
    channels = await harness.services.channels.list_with_stats()
    assert [c.chat_id for c in channels] == [-1001777]
