"""Tests for the fake Bot API server, driven by the real python-telegram-bot ``Bot``.

If these pass, tests built on ``FakeTelegram`` exercise PTB's real encoding and parsing.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import telegram
from telegram import BotCommand, MessageOriginChannel, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter

from tests.fake_telegram import (
    BOT_USER,
    FakeTelegram,
    UploadedFile,
    channel_post,
    forwarded_channel_post,
    my_chat_member,
    private_message,
)

TOKEN = "123:ABC"
CHANNEL_ID = -1001234567890
USER_ID = 4242


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(TOKEN, base_url=tg.base_url) as client:
        yield client


def _seconds(value: int | float | dtm.timedelta) -> float:
    """PTB 22 returns time periods as int or timedelta depending on PTB_TIMEDELTA."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def test_base_url_uses_loopback_and_bot_prefix(tg: FakeTelegram) -> None:
    assert tg.base_url.startswith("http://127.0.0.1:")
    assert tg.base_url.endswith("/bot")


async def test_get_me(tg: FakeTelegram, bot: telegram.Bot) -> None:
    me = await bot.get_me()

    assert me.id == BOT_USER["id"]
    assert me.is_bot
    assert me.username == "framewatch_test_bot"
    assert bot.username == "framewatch_test_bot"  # cached by Bot.initialize()
    assert [r.method for r in tg.requests] == ["getMe", "getMe"]


async def test_send_message_records_and_returns_message(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    first = await bot.send_message(USER_ID, "<b>hi</b>", parse_mode=ParseMode.HTML)
    second = await bot.send_message(USER_ID, "42")

    assert isinstance(first, telegram.Message)
    assert (first.message_id, second.message_id) == (1, 2)
    assert first.chat.id == USER_ID
    assert first.text == "<b>hi</b>"
    assert first.from_user is not None
    assert first.from_user.id == BOT_USER["id"]
    sent = tg.sent_to(USER_ID)
    assert [(m.chat_id, m.text, m.parse_mode) for m in sent] == [
        (USER_ID, "<b>hi</b>", "HTML"),
        (USER_ID, "42", None),  # a numeric text stays a string
    ]
    assert tg.sent_to(USER_ID + 1) == []


async def test_get_updates_parses_channel_posts_and_offset_acknowledges(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    first_id = tg.push_update(channel_post(CHANNEL_ID, 10, text="first", username="chan"))
    second_id = tg.push_update(channel_post(CHANNEL_ID, 11, text="second", edited=True))

    updates = await bot.get_updates()

    assert [u.update_id for u in updates] == [first_id, second_id] == [1000, 1001]
    assert all(isinstance(u, Update) for u in updates)
    assert updates[0].channel_post is not None
    assert updates[0].channel_post.text == "first"
    assert updates[0].channel_post.chat.id == CHANNEL_ID
    assert updates[0].channel_post.chat.username == "chan"
    assert updates[0].channel_post.sender_chat is not None
    assert updates[1].edited_channel_post is not None
    assert updates[1].edited_channel_post.edit_date is not None
    assert len(tg.pending_updates()) == 2  # no offset yet: nothing acknowledged

    assert await bot.get_updates(offset=second_id + 1) == ()
    assert tg.pending_updates() == []


async def test_get_updates_limit_and_partial_offset(tg: FakeTelegram, bot: telegram.Bot) -> None:
    ids = [tg.push_update(channel_post(CHANNEL_ID, n, text=str(n))) for n in range(3)]

    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert [u["update_id"] for u in tg.pending_updates()] == ids[1:]


async def test_captioned_post_has_media(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.push_update(channel_post(CHANNEL_ID, 5, caption="look"))

    (update,) = await bot.get_updates()

    assert update.channel_post is not None
    assert update.channel_post.caption == "look"
    assert update.channel_post.photo


async def test_long_poll_wakes_when_update_pushed(tg: FakeTelegram, bot: telegram.Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await tg.wait_for_request("getUpdates")
    assert not poll.done()

    update_id = tg.push_update(channel_post(CHANNEL_ID, 1, text="late"))
    async with asyncio.timeout(5):
        updates = await poll

    assert [u.update_id for u in updates] == [update_id]


async def test_zero_timeout_returns_immediately_when_empty(bot: telegram.Bot) -> None:
    async with asyncio.timeout(5):
        assert await bot.get_updates(timeout=0) == ()


async def test_stop_releases_pending_long_poll() -> None:
    tg = FakeTelegram(token=TOKEN)
    await tg.start()
    async with telegram.Bot(TOKEN, base_url=tg.base_url) as client:
        poll = asyncio.create_task(client.get_updates(timeout=30))
        await tg.wait_for_request("getUpdates")
        async with asyncio.timeout(5):
            await tg.stop()
            assert await poll == ()


async def test_abandoned_long_poll_is_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    tg = FakeTelegram(token=TOKEN)
    await tg.start()
    async with telegram.Bot(TOKEN, base_url=tg.base_url) as client:
        poll = asyncio.create_task(client.get_updates(timeout=30))
        await tg.wait_for_request("getUpdates")
        poll.cancel()
        with pytest.raises(asyncio.CancelledError):
            await poll
    async with asyncio.timeout(5):
        await tg.stop()

    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_allowed_updates_recorded(tg: FakeTelegram, bot: telegram.Bot) -> None:
    assert tg.allowed_updates is None

    await bot.get_updates(allowed_updates=["channel_post", "my_chat_member"])

    assert tg.allowed_updates == ["channel_post", "my_chat_member"]


async def test_on_updates_served_hook_sees_served_updates(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    served: list[list[int]] = []
    tg.on_updates_served = lambda updates: served.append([u["update_id"] for u in updates])
    update_id = tg.push_update(channel_post(CHANNEL_ID, 1, text="x"))

    await bot.get_updates()
    await bot.get_updates(offset=update_id + 1)  # empty: hook not called

    assert served == [[update_id]]


async def test_429_raises_retry_after(
    tg: FakeTelegram, bot: telegram.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without this PTB 22 emits a PTBDeprecationWarning (an error here) when building RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    tg.fail("sendMessage", chat_id=USER_ID, status=429, retry_after=1)

    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER_ID, "throttled")

    assert _seconds(caught.value.retry_after) == 1
    assert tg.sent == []
    assert tg.requests_for("sendMessage")[0].status == 429
    await bot.send_message(USER_ID, "retried")  # times=1: the next call succeeds
    assert [m.text for m in tg.sent] == ["retried"]


async def test_failure_only_matches_its_chat(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.fail("sendMessage", chat_id=USER_ID, status=403)

    await bot.send_message(USER_ID + 1, "other chat")

    assert [m.chat_id for m in tg.sent] == [USER_ID + 1]


async def test_403_forever_raises_forbidden(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.fail("sendMessage", chat_id=USER_ID, status=403, times=None)

    for _ in range(3):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(USER_ID, "hello?")

    assert tg.sent == []
    assert len(tg.requests_for("sendMessage")) == 3


async def test_forwarded_channel_post_has_channel_origin(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    tg.push_update(forwarded_channel_post(USER_ID, CHANNEL_ID, 77, "fwd", origin_username="chan"))

    (update,) = await bot.get_updates()

    message = update.message
    assert message is not None
    assert message.chat.type == "private"
    origin = message.forward_origin
    assert isinstance(origin, MessageOriginChannel)
    assert origin.chat.id == CHANNEL_ID
    assert origin.chat.username == "chan"
    assert origin.message_id == 77


async def test_private_command_has_bot_command_entity(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.push_update(private_message(USER_ID, "/digest now"))

    (update,) = await bot.get_updates()

    assert update.message is not None
    assert update.message.from_user is not None
    assert update.message.from_user.id == USER_ID
    assert update.message.parse_entities(["bot_command"]) == {update.message.entities[0]: "/digest"}


async def test_my_chat_member_parses_administrator(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.push_update(my_chat_member(CHANNEL_ID, "News", "news", user_id=USER_ID))

    (update,) = await bot.get_updates()

    member_update = update.my_chat_member
    assert member_update is not None
    assert member_update.chat.id == CHANNEL_ID
    assert member_update.from_user.id == USER_ID
    assert member_update.old_chat_member.status == "left"
    assert member_update.new_chat_member.status == "administrator"
    assert isinstance(member_update.new_chat_member, telegram.ChatMemberAdministrator)
    assert member_update.new_chat_member.user.id == BOT_USER["id"]


async def test_my_chat_member_kicked(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.push_update(my_chat_member(CHANNEL_ID, "News", None, "kicked", "administrator"))

    (update,) = await bot.get_updates()

    assert update.my_chat_member is not None
    assert isinstance(update.my_chat_member.new_chat_member, telegram.ChatMemberBanned)


async def test_wrong_token_rejected(tg: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with telegram.Bot("999:WRONG", base_url=tg.base_url):
            pass

    assert [(r.method, r.status) for r in tg.requests] == [("getMe", 401)]


async def test_commands_roundtrip(tg: FakeTelegram, bot: telegram.Bot) -> None:
    await bot.set_my_commands([BotCommand("digest", "Send the digest")])

    commands = await bot.get_my_commands()

    assert [(c.command, c.description) for c in commands] == [("digest", "Send the digest")]
    assert tg.my_commands() == [{"command": "digest", "description": "Send the digest"}]


async def test_simple_methods_return_true(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.push_update(channel_post(CHANNEL_ID, 1, text="stale"))

    assert await bot.delete_webhook(drop_pending_updates=True) is True
    assert await bot.answer_callback_query("123456789") is True

    assert tg.pending_updates() == []
    assert tg.requests_for("answerCallbackQuery")[0].params["callback_query_id"] == "123456789"


async def test_unknown_method_404_and_multipart_params(tg: FakeTelegram, bot: telegram.Bot) -> None:
    with pytest.raises(InvalidToken, match="method not found"):
        await bot.send_document(USER_ID, document=b"payload", filename="a.txt", caption="1.5")

    (request,) = tg.requests_for("sendDocument")
    assert request.status == 404
    assert request.params["chat_id"] == USER_ID
    assert request.params["caption"] == "1.5"  # string-only key: not decoded to float
    document = request.params["document"]
    assert isinstance(document, UploadedFile)
    assert (document.filename, document.content) == ("a.txt", b"payload")


async def test_json_body_and_query_string_params(tg: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=f"{tg.base_url}{TOKEN}") as client:
        by_json = await client.post("/sendMessage", json={"chat_id": 7, "text": "json"})
        by_query = await client.get("/sendMessage", params={"chat_id": "8", "text": "true"})

    assert by_json.json()["result"]["text"] == "json"
    assert by_query.json()["ok"] is True
    assert [(m.chat_id, m.text) for m in tg.sent] == [(7, "json"), (8, "true")]


async def test_wait_for_sent_returns_and_times_out(tg: FakeTelegram, bot: telegram.Bot) -> None:
    sending = asyncio.create_task(bot.send_message(USER_ID, "async"))

    sent = await tg.wait_for_sent(1, chat_id=USER_ID)
    await sending

    assert [m.text for m in sent] == ["async"]
    with pytest.raises(AssertionError, match="expected 2 sent message"):
        await tg.wait_for_sent(2, timeout=0.05)


@pytest.mark.parametrize(
    ("text", "parse_mode", "error"),
    [
        ("<b>unclosed", "HTML", "Can't parse entities: can't find end tag corresponding to start"),
        ("<blink>x</blink>", "HTML", "Can't parse entities: unsupported start tag"),
        ("<b></b>  ", "HTML", "Message text is empty"),
        ("&lt;" * 4097, "HTML", "Message is too long"),
        ("x" * 4097, None, "Message is too long"),
    ],
)
async def test_send_message_is_refused_like_telegram_does(
    tg: FakeTelegram, bot: telegram.Bot, text: str, parse_mode: str | None, error: str
) -> None:
    with pytest.raises(BadRequest, match=f"(?i)^{error}"):
        await bot.send_message(USER_ID, text, parse_mode=parse_mode)
    assert tg.sent == []
    await bot.send_message(USER_ID, "<b>bold</b> &amp; &lt;fine&gt;", parse_mode="HTML")
    await bot.send_message(USER_ID, "<not html>", parse_mode=None)
    assert len(tg.sent) == 2
