"""Channel approval: a channel counts only if a moderator added the bot or approved it.

Before this, any Telegram user who added the bot to a channel of their own had its posts (a
phishing link, say) in every subscriber's digest: test_a_strangers_channel_stays_out_of_
digests_until_a_moderator_approves_it fails on that code at its first digest assertion.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bot.delivery import compose
from bot.digest_render import render_plain
from bot.scan import run_scan
from handlers import ALLOWED_UPDATES
from handlers.approval_cards import CARDS_PER_LIST, parse_button
from storage.chat_ids import synthetic_chat_id
from storage.db import Database, _migration_files, migrate, open_database
from storage.models import IncomingPost
from tests.conftest import ADMIN, ANALYST, MODERATOR, STRANGER, Harness
from tests.fake_telegram import (
    SentMessage,
    callback_query,
    channel_post,
    forwarded_channel_post,
    my_chat_member,
)

CHANNEL = -1001555000001
PHISH = "Жест доброй воли! Подробности: https://evil.example/login"


def approve(chat_id: int = CHANNEL) -> str:
    return f"chan:approve:{chat_id}"


def leave(chat_id: int = CHANNEL) -> str:
    return f"chan:leave:{chat_id}"


async def setup(h: Harness) -> None:
    await h.grant_roles()
    await h.command(MODERATOR, "/watch goodwill-gesture жест доброй воли")


async def post(h: Harness, message_id: int = 1, chat_id: int = CHANNEL) -> None:
    date = int((h.clock.now - timedelta(hours=2)).timestamp())
    await h.push(channel_post(chat_id, message_id, PHISH, username="phish", date=date))
    await run_scan(h.services.framings, h.services.matches, h.clock)


async def digest(h: Harness) -> str:
    now = h.clock.now
    return render_plain(await compose(h.services, now - timedelta(hours=24), now))


async def approval(h: Harness, chat_id: int = CHANNEL) -> tuple[Any, ...]:
    row = await h.db.fetchone(
        "SELECT approval, added_by, decided_by FROM channels WHERE chat_id = ?", (chat_id,)
    )
    assert row is not None
    return tuple(row)


async def press(h: Harness, user_id: int, data: str, card: SentMessage | None = None) -> Any:
    """user_id presses a button (on `card`, or on a made-up message); the answer's params."""
    before = len(h.tg.requests_for("answerCallbackQuery"))
    chat_id, message_id = (card.chat_id, card.message_id) if card else (user_id, 999)
    await h.push(callback_query(user_id, data, chat_id, message_id))
    answers = h.tg.requests_for("answerCallbackQuery")[before:]
    assert len(answers) == 1  # every press is answered, exactly once
    return answers[0].params


def cards(h: Harness, chat_id: int) -> list[SentMessage]:
    return [m for m in h.tg.sent_to(chat_id) if "reply_markup" in m.params]


def buttons(card: SentMessage) -> list[str]:
    rows = card.params["reply_markup"]["inline_keyboard"]
    return [b["callback_data"] for row in rows for b in row]


async def test_a_strangers_channel_stays_out_of_digests_until_a_moderator_approves_it(
    harness: Harness,
) -> None:
    await setup(harness)
    await harness.push(my_chat_member(CHANNEL, "Phish", "phish", user_id=STRANGER))
    await post(harness)

    assert await approval(harness) == ("pending", STRANGER, None)
    assert await harness.db.fetchval("SELECT count(*) FROM posts") == 1  # stored, not lost
    assert "phish" not in await digest(harness) and "evil.example" not in await digest(harness)
    now = harness.clock.now
    assert await harness.services.matches.match_times(now - timedelta(days=7), now) == []
    (notice,) = cards(harness, ADMIN)  # the admins hear of it once, with the buttons
    assert "waiting for approval" in notice.text and f"added by user {STRANGER}" in notice.text
    assert buttons(notice) == [approve(), leave()]

    listing = await harness.command(MODERATOR, "/channels")
    assert "pending approval" in listing[0]
    (card,) = cards(harness, MODERATOR)
    answer = await press(harness, MODERATOR, approve(), card)

    assert answer["text"] == "Approved."
    assert await approval(harness) == ("approved", STRANGER, MODERATOR)
    assert "approved by User (2)" in card.text and "reply_markup" not in card.params
    assert "https://t.me/phish/1" in await digest(harness)
    rows = await harness.db.fetchall("SELECT user_id, action, detail FROM audit_log")
    assert (MODERATOR, "channel-approve", str(CHANNEL)) in [tuple(r) for r in rows]
    # The admin's copy of the card, pressed later, changes nothing and says so.
    again = await press(harness, ADMIN, approve(), notice)
    assert again["text"] == "It was already approved."
    assert f"approved by user {MODERATOR}" in notice.text


async def test_buttons_from_anyone_but_a_moderator_change_nothing(harness: Harness) -> None:
    await setup(harness)
    await harness.push(my_chat_member(CHANNEL, "Phish", "phish", user_id=STRANGER))

    for user in (STRANGER, ANALYST):
        for data in (approve(), leave()):
            answer = await press(harness, user, data)
            assert "Only moderators may approve or leave channels" in answer["text"]
            assert answer["show_alert"] is True

    assert await approval(harness) == ("pending", STRANGER, None)
    assert harness.tg.requests_for("leaveChat") == []
    assert harness.tg.requests_for("editMessageText") == []
    assert (
        await harness.db.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'chan%'") == 0
    )


async def test_foreign_malformed_and_stale_buttons_are_answered_clearly(harness: Harness) -> None:
    await setup(harness)
    foreign = ["", "x", "chan:approve:", "chan:approve:abc", "chan:delete:-100", "chan:approve:1 "]
    foreign += ["chan:approve:" + "9" * 40, approve() + "\n", "chan:approve:-1;DROP TABLE posts"]
    for data in foreign:
        answer = await press(harness, MODERATOR, data)
        assert "not one of mine" in answer["text"], data

    answer = await press(harness, MODERATOR, approve(-1009999))
    assert "I know no channel -1009999" in answer["text"]
    assert await harness.db.fetchval("SELECT count(*) FROM channels") == 0
    assert parse_button(None) is None and parse_button(approve()) == ("approve", CHANNEL)
    assert "callback_query" in ALLOWED_UPDATES


async def test_a_channel_an_admin_or_moderator_adds_is_watched_at_once(harness: Harness) -> None:
    await setup(harness)
    await harness.push(my_chat_member(CHANNEL, "Phish", "phish", user_id=ADMIN))
    await harness.push(my_chat_member(-1001555000002, "Other", "other", user_id=MODERATOR))
    await post(harness)

    assert await approval(harness) == ("approved", ADMIN, None)
    assert await approval(harness, -1001555000002) == ("approved", MODERATOR, None)
    assert "https://t.me/phish/1" in await digest(harness)
    assert cards(harness, ADMIN) == []  # nothing to approve, nobody bothered


async def test_leave_rejects_the_channel_and_the_bot_stays_out(harness: Harness) -> None:
    await setup(harness)
    await harness.push(my_chat_member(CHANNEL, "Phish", "phish", user_id=STRANGER))
    await post(harness)
    (card,) = cards(harness, ADMIN)

    answer = await press(harness, ADMIN, leave(), card)

    assert answer["text"] == "I left the channel."
    (left,) = harness.tg.requests_for("leaveChat")
    assert int(left.params["chat_id"]) == CHANNEL
    assert await approval(harness) == ("rejected", STRANGER, ADMIN)
    assert "rejected by User (1): I left it. Its 1 stored posts stay stored" in card.text
    assert await harness.db.fetchval("SELECT count(*) FROM posts") == 1
    assert "phish" not in await digest(harness)
    assert (await press(harness, ADMIN, leave(), card))["text"] == "It was already rejected."
    # Telegram confirms the bot left; the stranger adds it again: it leaves again.
    await harness.push(my_chat_member(CHANNEL, "Phish", "phish", "left", "administrator", ADMIN))
    await harness.push(my_chat_member(CHANNEL, "Phish", "phish", user_id=STRANGER))
    assert await approval(harness) == ("rejected", STRANGER, ADMIN)
    assert len(harness.tg.requests_for("leaveChat")) == 3  # the stale press tried too
    assert "rejected" in (await harness.command(MODERATOR, "/channels"))[0]
    # A moderator may change their mind.
    (reply,) = await harness.command(MODERATOR, "/approve @phish")
    assert "approved by User (2)" in reply
    assert "https://t.me/phish/1" in await digest(harness)


async def test_a_press_on_a_card_too_old_to_edit_is_still_answered(harness: Harness) -> None:
    await setup(harness)
    await harness.push(my_chat_member(CHANNEL, "Phish", "phish", user_id=STRANGER))
    before = len(harness.tg.requests_for("answerCallbackQuery"))

    await harness.push(callback_query(MODERATOR, approve(), MODERATOR, 5, inaccessible=True))

    (answer,) = harness.tg.requests_for("answerCallbackQuery")[before:]
    assert answer.params["text"] == "Approved."
    assert harness.tg.requests_for("editMessageText") == []
    assert await approval(harness) == ("approved", STRANGER, MODERATOR)


async def test_a_press_too_old_to_answer_still_edits_the_card(harness: Harness) -> None:
    await setup(harness)
    await harness.push(my_chat_member(CHANNEL, "Phish", "phish", user_id=STRANGER))
    (card,) = cards(harness, ADMIN)
    harness.tg.fail("answerCallbackQuery", status=400, description="Bad Request: query is too old")

    await harness.push(callback_query(ADMIN, approve(), card.chat_id, card.message_id))

    assert "approved by User (1)" in card.text
    assert await approval(harness) == ("approved", STRANGER, ADMIN)


async def test_a_failed_leave_still_keeps_the_posts_out(harness: Harness) -> None:
    await setup(harness)
    await harness.push(my_chat_member(CHANNEL, "Phish", "phish", user_id=STRANGER))
    await post(harness)
    harness.tg.fail("leaveChat", status=400)

    await press(harness, MODERATOR, leave())

    assert await approval(harness) == ("rejected", STRANGER, MODERATOR)
    assert "phish" not in await digest(harness)


async def test_approve_command(harness: Harness) -> None:
    await setup(harness)
    assert "Usage: /approve" in (await harness.command(MODERATOR, "/approve"))[0]
    assert "I store no channel @nope" in (await harness.command(MODERATOR, "/approve @nope"))[0]
    assert "only moderators" in (await harness.command(STRANGER, "/approve @phish"))[0]
    await harness.push(my_chat_member(CHANNEL, "Phish", "phish", user_id=STRANGER))
    assert "approved by" in (await harness.command(MODERATOR, f"/approve {CHANNEL}"))[0]
    assert "approved by user 2" in (await harness.command(ADMIN, "/approve @phish"))[0]
    assert await approval(harness) == ("approved", STRANGER, MODERATOR)


async def test_posts_of_a_channel_never_registered_wait_for_approval(harness: Harness) -> None:
    """The bot was in the channel before this version without a record of it, or the
    my_chat_member update was lost: nobody vouched for the channel, so it waits."""
    await setup(harness)
    await post(harness)
    await post(harness, 2)

    assert await approval(harness) == ("pending", None, None)
    assert await harness.db.fetchval("SELECT count(*) FROM posts") == 2
    assert "phish" not in await digest(harness)
    (notice,) = cards(harness, ADMIN)
    assert "without word of who added me" in notice.text


async def test_a_moderators_forward_from_a_pending_channel_says_how_to_count_it(
    harness: Harness,
) -> None:
    await setup(harness)
    await harness.push(my_chat_member(CHANNEL, "Phish", "phish", user_id=STRANGER))
    forward = forwarded_channel_post(MODERATOR, CHANNEL, 3, PHISH, origin_username="phish")
    before = len(harness.tg.sent_to(MODERATOR))

    await harness.push(forward)

    (reply,) = [m.text for m in harness.tg.sent_to(MODERATOR)[before:]]
    assert f"The channel is pending: /approve {CHANNEL} counts it." in reply
    assert await approval(harness) == ("pending", STRANGER, None)
    other = forwarded_channel_post(MODERATOR, -1001555000003, 4, "text", origin_username="ok")
    await harness.push(other)
    assert "/approve" not in harness.tg.sent_to(MODERATOR)[-1].text  # new: a moderator's


async def test_a_channel_moderators_follow_is_watched_whoever_adds_the_bot(
    harness: Harness,
) -> None:
    synthetic = synthetic_chat_id("phish")
    now = harness.clock.now
    web = IncomingPost(
        chat_id=synthetic,
        message_id=1,
        posted_at=now - timedelta(hours=2),
        text=PHISH,
        channel_title="Phish",
        channel_username="phish",
        source="web",
    )
    await harness.services.posts.store(web, now)
    await harness.services.follows.add(
        username="phish",
        chat_id=synthetic,
        channel_username="phish",
        title="Phish",
        user_id=MODERATOR,
        now=now,
        next_poll_at=now,
        backfill_before=None,
        backfill_left=0,
    )
    await setup(harness)
    await harness.push(my_chat_member(CHANNEL, "Phish", "phish", user_id=STRANGER))
    await run_scan(harness.services.framings, harness.services.matches, harness.clock)

    assert await approval(harness) == ("approved", STRANGER, None)
    assert "https://t.me/phish/1" in await digest(harness)


async def test_intake_goes_on_when_the_admins_cannot_be_told(harness: Harness) -> None:
    await setup(harness)
    harness.tg.fail("sendMessage", chat_id=ADMIN, status=403, times=None)
    await harness.push(my_chat_member(CHANNEL, "Phish", "phish", user_id=STRANGER))
    await post(harness)

    assert await approval(harness) == ("pending", STRANGER, None)
    assert await harness.db.fetchval("SELECT count(*) FROM posts") == 1
    assert await harness.db.fetchval("SELECT count(*) FROM inbox WHERE processed_at IS NULL") == 0


async def test_a_flood_of_pending_channels_stays_short(harness: Harness) -> None:
    await setup(harness)
    for i in range(CARDS_PER_LIST + 15):
        await harness.push(my_chat_member(CHANNEL + i, f"Spam {i}", None, user_id=STRANGER))

    assert len(cards(harness, ADMIN)) == 20  # NOTIFY_PENDING_MAX, then the admins are spared
    replies = await harness.command(MODERATOR, "/channels")
    assert len(cards(harness, MODERATOR)) == CARDS_PER_LIST
    assert "15 more pending: /approve" in replies[-1]


async def test_channels_known_before_the_migration_stay_watched(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = await aiosqlite.connect(path, isolation_level=None)
    old = Database(conn, str(path))
    await migrate(old, [f for f in _migration_files() if f[0] < 6])
    await conn.execute(
        "INSERT INTO channels (chat_id, username, title, is_member, added_at, updated_at)"
        " VALUES (-1001, 'echo', 'Echo', 1, ?, ?)",
        ("2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
    )
    await conn.close()

    db = await open_database(path)
    try:
        (channel,) = await db.fetchall("SELECT chat_id, approval FROM watched_channels")
        assert tuple(channel) == (-1001, "approved")
    finally:
        await db.close()
