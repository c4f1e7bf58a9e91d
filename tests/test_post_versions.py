"""/post <link>: analysts see a stored post's text and its earlier versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.links import PostRef, parse_post_link
from storage.models import IncomingPost
from tests.conftest import ANALYST, MODERATOR, STRANGER, Harness

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def incoming(text: str, edited: int | None = None, chat_id: int = -1001234567890) -> IncomingPost:
    return IncomingPost(
        chat_id=chat_id,
        message_id=45,
        posted_at=NOW - timedelta(hours=3),
        text=text,
        channel_title="Front",
        channel_username="front_news" if chat_id == -1001234567890 else None,
        edited_at=NOW - timedelta(hours=edited) if edited else None,
    )


def test_post_links_are_parsed_or_refused() -> None:
    assert parse_post_link("https://t.me/Front_News/45") == PostRef("front_news", None, 45)
    assert parse_post_link("t.me/s/front_news/45/") == PostRef("front_news", None, 45)
    assert parse_post_link("https://t.me/c/1234567890/45") == PostRef(None, -1001234567890, 45)
    for bad in (
        "front_news/45",
        "https://t.me/front_news",
        "https://evil.example/x/1",
        "t.me/ab/1",
    ):
        assert parse_post_link(bad) is None


async def test_analysts_see_every_version_of_a_post(harness: Harness) -> None:
    await harness.grant_roles()
    posts = harness.services.posts
    await posts.store(incoming("first <i>text</i>"), NOW)
    await posts.store(incoming("second text", edited=2), NOW)
    await posts.store(incoming("third text", edited=1), NOW)

    text = "\n".join(await harness.command(ANALYST, "/post https://t.me/front_news/45"))
    assert "2 earlier version(s)" in text
    assert text.index("third text") < text.index("first &lt;i&gt;text") < text.index("second")
    by_id = "\n".join(await harness.command(MODERATOR, "/post https://t.me/c/1234567890/45"))
    assert "third text" in by_id


async def test_post_says_what_to_do_and_is_for_analysts(harness: Harness) -> None:
    await harness.grant_roles()
    assert "Usage: /post" in (await harness.command(ANALYST, "/post"))[0]
    assert "Usage: /post" in (await harness.command(ANALYST, "/post not-a-link"))[0]
    missing = (await harness.command(ANALYST, "/post https://t.me/nobody_here/1"))[0]
    assert "not stored" in missing
    assert "only" in (await harness.command(STRANGER, "/post https://t.me/front_news/45"))[0]
    assert "/post &lt;link&gt;" in "\n".join(await harness.command(ANALYST, "/help"))
