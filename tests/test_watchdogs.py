"""Watchdog channels: fact-checkers that quote framings to debunk them.

A moderator marks them with /watchdog; their matches stay stored and searchable, but digests
list them apart ("Quoted by watchdogs") instead of counting them as channels spreading the
framing, and they do not make a framing recurring.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.delivery import compose
from bot.digest import build_digest
from bot.digest_render import render_digest, render_plain
from bot.scan import run_scan
from storage.backend import Backend
from storage.chat_ids import synthetic_chat_id
from storage.follows import FollowRepository
from storage.models import DigestItem, IncomingPost
from storage.posts import ChannelRepository, PostRepository
from tests.conftest import ANALYST, MODERATOR, STRANGER, FakeClock, Harness
from tests.fake_telegram import channel_post, my_chat_member
from tests.test_digest import END, KYIV, START, item

SPREADER, WATCHDOG = -1001000000001, -1001000000009


def watchdog_item(message_id: int, hours: float = 2) -> DigestItem:
    quoted = item(
        message_id=message_id,
        chat_id=WATCHDOG,
        username="factcheck",
        channel_title="Fact <check>",
        posted_at=START + timedelta(hours=hours),
        text='Debunk: the "goodwill gesture" line is false.',
    )
    return DigestItem(**{**_fields(quoted), "watchdog": True})


def _fields(value: DigestItem) -> dict[str, object]:
    return {name: getattr(value, name) for name in DigestItem.__dataclass_fields__}


# --------------------------------------------------------------------------- the digest


def test_watchdog_posts_are_counted_apart_and_do_not_make_a_framing_recur() -> None:
    items = [item(message_id=1), watchdog_item(2), watchdog_item(3, hours=5)]

    (summary,) = build_digest(items, {}, START, END, KYIV).framings

    assert (summary.post_count, summary.channel_count, summary.quoted_count) == (1, 1, 2)
    assert not summary.recurring  # 3 posts, but only 1 from a channel spreading it
    assert [p.message_id for p in summary.top_posts] == [1]
    assert [p.message_id for p in summary.quoted_posts] == [3, 2]  # newest first
    text = render_plain(render_digest(build_digest(items, {}, START, END, KYIV), KYIV))
    assert "1 post in 1 channel" in text
    assert "Quoted by watchdogs (not counted above): 2 posts" in text
    assert "Fact <check>" in text and "https://t.me/factcheck/3" in text


def test_a_framing_only_watchdogs_quote_is_shown_last_and_says_so() -> None:
    items = [
        watchdog_item(2),
        item("feint", message_id=5, text="A tactical feint.", term="tactical feint"),
    ]

    digest = build_digest(items, {"goodwill-gesture": 5}, START, END, KYIV)

    assert [f.slug for f in digest.framings] == ["feint", "goodwill-gesture"]
    quoted_only = digest.framings[1]
    assert quoted_only.post_count == 0 and quoted_only.quoted_count == 1
    assert not quoted_only.recurring  # recent days come from spreading channels only
    (message,) = render_digest(digest, KYIV)
    assert "only quoted by watchdogs" in message
    assert "Fact &lt;check&gt;" in message  # user text escaped in the HTML


def test_watchdog_lines_fit_small_messages() -> None:
    items = [item(message_id=1), *(watchdog_item(n, hours=n / 10) for n in range(2, 9))]
    digest = build_digest(items, {}, START, END, KYIV)

    messages = render_digest(digest, KYIV, limit=300)

    assert all(len(m.encode("utf-16-le")) // 2 <= 300 for m in messages)
    assert "Quoted by watchdogs" in "".join(messages)


# --------------------------------------------------------------------------- storage


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """The storage tests here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


async def test_marks_are_found_by_username_or_id_and_audited(db: Backend, clock: FakeClock) -> None:
    channels = ChannelRepository(db)
    await channels.set_membership(WATCHDOG, "FactCheck", "Fact check", True, clock.now)

    found = await channels.find("@factcheck")
    assert found is not None and found.chat_id == WATCHDOG and not found.watchdog
    assert await channels.find(str(WATCHDOG)) == found
    assert await channels.find("@nobody") is None
    assert await channels.set_watchdog(WATCHDOG, True, 7, clock.now)
    assert not await channels.set_watchdog(WATCHDOG, True, 7, clock.now)  # already
    assert (await channels.list_with_stats())[0].watchdog
    assert not await channels.set_watchdog(-1, True, 7, clock.now)  # unknown channel
    actions = await db.fetchall("SELECT user_id, action, detail FROM audit_log ORDER BY id")
    assert [tuple(a) for a in actions] == [(7, "watchdog-on", str(WATCHDOG))]


async def test_a_mark_made_on_a_followed_channel_moves_with_it_to_the_real_id(
    db: Backend, clock: FakeClock
) -> None:
    follows, channels = FollowRepository(db), ChannelRepository(db)
    synthetic = synthetic_chat_id("fw_watchdog")
    await follows.add(
        username="fw_watchdog",
        chat_id=synthetic,
        channel_username="fw_watchdog",
        title="Watchdog",
        user_id=None,
        now=clock.now,
        next_poll_at=clock.now,
        backfill_before=None,
        backfill_left=0,
    )
    assert await channels.set_watchdog(synthetic, True, None, clock.now)
    await PostRepository(db).store(
        IncomingPost(synthetic, 1, clock.now, "text", "Watchdog", "fw_watchdog"), clock.now
    )
    await channels.set_membership(-1005, "fw_watchdog", "Watchdog", True, clock.now)

    await follows.adopt("fw_watchdog", synthetic, -1005, clock.now)

    moved = await channels.find("@fw_watchdog")
    assert moved is not None and moved.chat_id == -1005 and moved.watchdog


# --------------------------------------------------------------------------- the bot


async def test_moderators_mark_and_unmark_watchdogs(harness: Harness) -> None:
    await harness.grant_roles()
    await harness.push(channel_post(WATCHDOG, 1, "Hello", username="factcheck", title="FC"))

    assert "Usage: /watchdog" in (await harness.command(MODERATOR, "/watchdog"))[0]
    unknown = (await harness.command(MODERATOR, "/watchdog @nobody"))[0]
    assert "I store no channel @nobody" in unknown and "Usage: /watchdog" in unknown
    assert "is now a watchdog" in (await harness.command(MODERATOR, "/watchdog @FactCheck"))[0]
    assert "already a watchdog" in (await harness.command(MODERATOR, f"/watchdog {WATCHDOG}"))[0]
    assert "· watchdog" in (await harness.command(MODERATOR, "/channels"))[0]
    refused = (await harness.command(STRANGER, "/unwatchdog @factcheck"))[0]
    assert refused.startswith("Sorry, only moderators")
    assert (await harness.services.channels.find("@factcheck")).watchdog  # type: ignore[union-attr]
    assert "no longer a watchdog" in (await harness.command(MODERATOR, "/unwatchdog @factcheck"))[0]
    assert "was not a watchdog" in (await harness.command(MODERATOR, "/unwatchdog @factcheck"))[0]
    assert "· watchdog" not in (await harness.command(MODERATOR, "/channels"))[0]


async def test_the_digest_lists_a_watchdog_apart(harness: Harness) -> None:
    await harness.grant_roles()
    await harness.command(MODERATOR, "/watch goodwill-gesture жест доброй воли")
    now = harness.clock.now
    date = int((now - timedelta(hours=2)).timestamp())
    for chat, name in ((SPREADER, "echo"), (WATCHDOG, "fc")):
        await harness.push(my_chat_member(chat, name, name, user_id=MODERATOR))
    await harness.push(
        channel_post(SPREADER, 1, "Это был жест доброй воли.", username="echo", date=date)
    )
    await harness.push(
        channel_post(
            WATCHDOG, 2, "Фейк: «жест доброй воли» — это бегство.", username="fc", date=date
        )
    )
    await run_scan(harness.services.framings, harness.services.matches, harness.clock)
    await harness.command(MODERATOR, "/watchdog @fc")

    messages = await compose(harness.services, now - timedelta(hours=24), now)

    text = render_plain(messages)
    assert "1 post in 1 channel" in text
    assert "Quoted by watchdogs (not counted above): 1 post" in text
    assert "https://t.me/fc/2" in text and "https://t.me/echo/1" in text
    # Analysts' search shows both posts, says which channel is a watchdog and the framings.
    (found,) = await harness.command(ANALYST, "/search жест")
    assert "@fc (watchdog) · goodwill-gesture\n" in found
    assert "@echo · goodwill-gesture\n" in found
