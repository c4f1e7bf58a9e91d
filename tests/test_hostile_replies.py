"""Hostile titles and posts through the real application: every reply still arrives whole.

The fake Bot API refuses what Telegram refuses (tests/telegram_html.py), so a reply cut
inside a tag or left empty fails here as it would in production.
"""

from __future__ import annotations

import re
from datetime import timedelta

from storage.packs import PackFraming
from tests.conftest import ANALYST, MODERATOR, Harness
from tests.fake_telegram import channel_post, my_chat_member
from tests.telegram_html import MAX_TEXT_UNITS, check_message, parse, units

CHANNEL = -1001000000077
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _accepted(replies: list[str]) -> str:
    """All replies are valid Telegram HTML within the limit; their visible text, joined."""
    assert replies
    for message in replies:
        assert check_message(message) == "", message[:300]
        assert units(message) <= MAX_TEXT_UNITS
    return "\n".join(parse(message) for message in replies)


async def _failed_sends(h: Harness) -> list[int]:
    return [r.status for r in h.tg.requests_for("sendMessage") if r.status != 200]


async def test_framings_with_a_5000_character_title_still_lists_every_framing(
    harness: Harness,
) -> None:
    await harness.grant_roles()
    pack = [
        PackFraming("long-title", "T" * 5000, "", (("жест доброй воли", "жест доброй воли"),)),
        PackFraming("short", "Short", "", (("tactical feint", "tactical feint"),)),
    ]
    await harness.services.framings.import_pack(pack, None, harness.clock(), "test", 500)

    for command in ("/framings", "/framings long-title"):
        text = _accepted(await harness.command(MODERATOR, command))
        assert "long-title — TTTT" in text and "T…" in text
        assert "жест доброй воли" in text
    assert "short — Short" in _accepted(await harness.command(MODERATOR, "/framings"))
    assert await _failed_sends(harness) == []


async def test_channels_with_a_5000_character_name_is_not_cut_inside_a_tag(
    harness: Harness,
) -> None:
    await harness.grant_roles()
    await harness.push(channel_post(CHANNEL, 1, "hello", title="<b>" * 1667, username="longname"))
    await harness.push(channel_post(CHANNEL - 1, 1, "hi", title="Plain", username="plain"))

    text = _accepted(await harness.command(MODERATOR, "/channels"))
    assert "<b><b>" in text and "…" in text  # the name shown as text, shortened
    assert "@longname · 1 posts" in text and "Plain @plain" in text
    assert await _failed_sends(harness) == []


async def test_search_hit_from_a_post_full_of_angle_brackets_keeps_snippet_and_link(
    harness: Harness,
) -> None:
    await harness.grant_roles()
    text = "<" * 3000 + " goodwill " + "<" * 3000 + " \x02stray marker"
    await harness.push(channel_post(CHANNEL, 5, text, username="brackets"))

    replies = await harness.command(ANALYST, "/search goodwill")
    shown = _accepted(replies)
    assert "https://t.me/brackets/5" in shown
    assert "<<<" in shown and "goodwill" in shown
    assert any("<b>goodwill</b>" in message for message in replies)
    assert await _failed_sends(harness) == []


async def test_digest_has_no_control_characters_from_posts_or_titles(harness: Harness) -> None:
    await harness.grant_roles()
    pack = [PackFraming("nul", "Ti\x00tle\x1b[2J", "", (("goodwill", "goodwill"),))]
    await harness.services.framings.import_pack(pack, None, harness.clock(), "test", 500)
    posted = int((harness.clock.now - timedelta(hours=1)).timestamp())
    # The bot added by a moderator: the channel is approved, so its posts count.
    await harness.push(my_chat_member(CHANNEL, "Ch\x00an\x1bnel", "evil", user_id=MODERATOR))
    hostile = "A\x00 gesture of goodwill\x1b[31m red\x1b]0;title\x07 \x9b done\r\nnext"
    await harness.push(
        channel_post(CHANNEL, 9, hostile, date=posted, title="Ch\x00an\x1bnel", username="evil")
    )
    assert harness.app.job_queue is not None
    (scan,) = harness.app.job_queue.get_jobs_by_name("scan")
    await scan.run(harness.app)

    replies = await harness.command(MODERATOR, "/digest")
    shown = _accepted(replies)
    assert "goodwill" in shown and "Title[2J" in shown and "Channel" in shown
    for message in replies:
        assert not CONTROLS.search(message), repr(message)
