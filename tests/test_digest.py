"""Tests for bot.digest: grouping, snippets, HTML safety and message splitting."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from bot.digest import (
    TELEGRAM_LIMIT,
    Digest,
    FramingSummary,
    build_digest,
)
from bot.digest_render import render_digest, render_plain
from storage.models import DigestItem

KYIV = ZoneInfo("Europe/Kyiv")
START = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # 09:00 in Kyiv (UTC+2 in November)
END = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
CHANNEL = -1001234567890


def item(
    slug: str = "goodwill-gesture",
    *,
    message_id: int = 1,
    chat_id: int = CHANNEL,
    username: str | None = "news",
    channel_title: str = "News",
    posted_at: datetime | None = None,
    text: str = "It was a goodwill gesture.",
    term: str = "goodwill gesture",
    title: str | None = None,
) -> DigestItem:
    """A match of `term` (its first occurrence, case-insensitive) in `text`."""
    start = text.lower().find(term.lower())
    assert start >= 0, "test bug: term not in text"
    return DigestItem(
        framing_slug=slug,
        framing_title=title if title is not None else slug.replace("-", " ").capitalize(),
        chat_id=chat_id,
        channel_username=username,
        channel_title=channel_title,
        message_id=message_id,
        posted_at=posted_at or START + timedelta(hours=1),
        text=text,
        match_start=start,
        match_end=start + len(term),
        term=term,
    )


def build(items: list[DigestItem], recent_days: dict[str, int] | None = None) -> Digest:
    return build_digest(items, recent_days or {}, START, END, KYIV)


def framing(digest: Digest, slug: str) -> FramingSummary:
    return next(f for f in digest.framings if f.slug == slug)


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TagChecker(HTMLParser):
    """Fails on tags other than b, i, a, and on unbalanced or crossed tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in {"b", "i", "a"}, tag
        if tag == "a":
            assert dict(attrs).get("href"), attrs
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> without an opening tag"
        assert self.stack.pop() == tag, f"crossed </{tag}>"


def assert_valid_html(message: str) -> None:
    checker = TagChecker()
    checker.feed(message)
    checker.close()
    assert checker.stack == [], f"unclosed {checker.stack}"
    # No raw "<" or ">" outside our own tags: user text was escaped.
    without_tags = re.sub(r"</?(b|i)>|<a href=\"[^\"<>]*\">|</a>", "", message)
    assert "<" not in without_tags
    assert ">" not in without_tags


# --- grouping ---------------------------------------------------------------------------


def test_counts_collapse_duplicate_matches_per_post() -> None:
    text = "A goodwill gesture. Another goodwill gesture."
    digest = build(
        [
            item(message_id=1, text=text),
            item(message_id=1, text=text),  # the same post matched twice
            item(message_id=2, text=text),
            item(message_id=7, chat_id=-1009, username=None, text=text),
            item("escalation", message_id=1, text="Escalation again.", term="escalation"),
        ]
    )
    goodwill = framing(digest, "goodwill-gesture")
    assert (goodwill.post_count, goodwill.channel_count) == (3, 2)
    assert len(goodwill.top_posts) == 3
    escalation = framing(digest, "escalation")
    assert (escalation.post_count, escalation.channel_count) == (1, 1)


def test_several_matches_in_one_post_show_the_earliest() -> None:
    text = "First sentence has nothing. Then a goodwill gesture. Later: goodwill gesture again."
    first = text.find("goodwill gesture")
    second = text.find("goodwill gesture", first + 1)
    later = replace(item(text=text), match_start=second, match_end=second + 16)
    earliest = item(text=text)
    post = build([later, earliest]).framings[0].top_posts[0]
    assert post.before == "Then a "
    assert post.match == "goodwill gesture"
    assert post.after == "."


def test_recurring_by_days_by_posts_and_not_otherwise() -> None:
    digest = build(
        [
            item("by-days", message_id=1),
            item("by-posts", message_id=1),
            item("by-posts", message_id=2),
            item("by-posts", message_id=3),
            item("one-off", message_id=1),
            item("two-posts", message_id=1),
            item("two-posts", message_id=2),
        ],
        {"by-days": 2, "by-posts": 1, "one-off": 1, "two-posts": 1},
    )
    assert framing(digest, "by-days").recurring
    assert framing(digest, "by-days").days_matched_last_7 == 2
    assert framing(digest, "by-posts").recurring
    assert not framing(digest, "one-off").recurring
    assert not framing(digest, "two-posts").recurring


def test_missing_recent_days_count_as_zero() -> None:
    summary = build([item("lonely")], {}).framings[0]
    assert summary.days_matched_last_7 == 0
    assert not summary.recurring


def test_order_recurring_first_then_post_count_then_slug() -> None:
    items = [item("b-two", message_id=n) for n in (1, 2)]
    items += [item("a-two", message_id=n) for n in (1, 2)]
    items += [item("z-one", message_id=1)]
    items += [item("y-recurring", message_id=1)]
    items += [item("x-many", message_id=n) for n in range(4)]
    digest = build(items, {"y-recurring": 3})
    slugs = [f.slug for f in digest.framings]
    assert slugs == ["x-many", "y-recurring", "a-two", "b-two", "z-one"]


def test_top_five_most_recent_and_more_line() -> None:
    items = [item(message_id=n, posted_at=START + timedelta(minutes=10 * n)) for n in range(1, 9)]
    summary = build(items).framings[0]
    assert [p.message_id for p in summary.top_posts] == [8, 7, 6, 5, 4]
    (message,) = render_digest(build(items), KYIV)
    assert "…and 3 more posts" in message
    assert "t.me/news/8<" in message
    assert "t.me/news/3<" not in message


def test_no_more_line_with_five_posts_or_fewer() -> None:
    items = [item(message_id=n) for n in range(1, 6)]
    (message,) = render_digest(build(items), KYIV)
    assert "more post" not in message


def test_local_time_conversion() -> None:
    posted = datetime(2026, 11, 25, 6, 10, tzinfo=UTC)
    digest = build([item(posted_at=posted)])
    post = digest.framings[0].top_posts[0]
    assert post.local_time.hour == 8
    (message,) = render_digest(digest, KYIV)
    assert "2026-11-25 08:10" in message
    assert "24 Nov 09:00 – 25 Nov 09:00 (Europe/Kyiv)" in message


# --- snippets ---------------------------------------------------------------------------


def test_snippet_is_the_sentence_with_the_match_in_bold() -> None:
    text = (
        "The weather was fine! Officials called the pause a goodwill gesture, again. "
        "Markets rose?\nNothing else happened."
    )
    (message,) = render_digest(build([item(text=text)]), KYIV)
    assert "“Officials called the pause a <b>goodwill gesture</b>, again.”" in message
    assert "weather" not in message
    assert "Markets" not in message


def test_snippet_stops_at_newlines_and_collapses_whitespace() -> None:
    text = "Headline without a dot\nThey  made\ta   goodwill gesture   today\nNext line."
    post = build([item(text=text)]).framings[0].top_posts[0]
    assert (post.before, post.match, post.after) == ("They made a ", "goodwill gesture", " today")


def test_snippet_ignores_dots_inside_words_and_numbers() -> None:
    text = "See t.me and 3.5 percent: a goodwill gesture by U.S. officials. Next."
    post = build([item(text=text)]).framings[0].top_posts[0]
    assert post.before == "See t.me and 3.5 percent: a "
    assert post.after == " by U.S. officials."


def test_long_sentence_is_cut_to_a_window_around_the_match() -> None:
    words = " ".join(f"word{n}" for n in range(200))
    text = f"{words} goodwill gesture {words}."
    post = build([item(text=text)]).framings[0].top_posts[0]
    assert post.before.startswith("…")
    assert post.after.endswith("…")
    assert len(post.before + post.match + post.after) <= 300
    # Cut at word boundaries, with context on both sides.
    assert post.before.endswith("word199 ")
    assert re.fullmatch(r"…(word\d+ )+", post.before)
    assert re.fullmatch(r"( word\d+)+…", post.after)


def test_long_context_on_one_side_only_gets_all_the_room() -> None:
    words = " ".join(f"word{n}" for n in range(200))
    text = f"Short start, goodwill gesture {words}."
    post = build([item(text=text)]).framings[0].top_posts[0]
    assert post.before == "Short start, "
    assert len(post.before + post.match + post.after) > 250


# --- HTML and links ---------------------------------------------------------------------


def test_hostile_text_is_escaped_everywhere() -> None:
    hostile = item(
        "evil",
        title='<script>alert("x")</script> & co',
        channel_title='<b>Fake</b> & "Co"',
        text='Say <script>alert(1)</script> & "quote" goodwill gesture <i>now</i>.',
    )
    (message,) = render_digest(build([hostile]), KYIV)
    assert_valid_html(message)
    assert "<script>" not in message
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in message
    assert "<i>&lt;b&gt;Fake&lt;/b&gt; &amp; &quot;Co&quot;</i>" in message
    assert "&lt;i&gt;now&lt;/i&gt;" in message
    assert "<b>goodwill gesture</b>" in message


def test_public_and_private_links() -> None:
    public = item("public", message_id=123, username="name")
    private = item("private", message_id=123, username=None, chat_id=-1001234567890)
    digest = build([public, private])
    assert framing(digest, "public").top_posts[0].link == "https://t.me/name/123"
    assert framing(digest, "private").top_posts[0].link == "https://t.me/c/1234567890/123"
    (message,) = render_digest(digest, KYIV)
    assert '<a href="https://t.me/name/123">t.me/name/123</a>' in message
    assert '<a href="https://t.me/c/1234567890/123">t.me/c/1234567890/123</a>' in message
    assert "@name" in message


def test_framing_block_layout() -> None:
    items = [
        item(message_id=1, posted_at=datetime(2026, 11, 25, 6, 10, tzinfo=UTC)),
        item(message_id=2),
        item(message_id=3, chat_id=-1005, username=None, channel_title="Secret"),
    ]
    (message,) = render_digest(build(items, {"goodwill-gesture": 4}), KYIV)
    assert message.startswith("<b>FrameWatch digest</b> · 24 Nov 09:00 – 25 Nov 09:00")
    assert (
        "<b>Goodwill gesture</b> (goodwill-gesture) — 3 posts in 2 channels"
        " · recurring: 4 of the last 7 days"
    ) in message
    assert (
        "• <i>News</i> @news · 2026-11-25 08:10\n"
        "  “It was a <b>goodwill gesture</b>.”\n"
        '  <a href="https://t.me/news/1">t.me/news/1</a>'
    ) in message
    assert "• <i>Secret</i> · " in message


def test_empty_digest_says_so_in_one_message() -> None:
    digest = build([])
    assert digest.is_empty
    messages = render_digest(digest, KYIV)
    assert len(messages) == 1
    assert (
        "No framings were matched in posts from 24 Nov 09:00 – 25 Nov 09:00 (Europe/Kyiv)."
        in messages[0]
    )
    assert "/watch" in messages[0]
    assert_valid_html(messages[0])


# --- splitting --------------------------------------------------------------------------


def _big_digest() -> Digest:
    sentence = "Lorem ipsum dolor sit amet & <consectetur> adipiscing elit sed do eiusmod "
    items = []
    for f in range(60):
        for p in range(5):
            text = sentence * 3 + f"a goodwill gesture number {p} " + sentence * 3 + "."
            items.append(
                item(
                    f"framing-{f:02d}",
                    message_id=1000 * f + p,
                    username=f"channel{p}",
                    channel_title=f"Channel {p} & <friends>",
                    text=text,
                )
            )
    return build(items)


def test_split_into_messages_within_the_limit() -> None:
    digest = _big_digest()
    messages = render_digest(digest, KYIV)
    assert len(messages) > 1
    for message in messages:
        assert units(message) <= TELEGRAM_LIMIT
        assert_valid_html(message)
    # Nothing lost: every post link appears exactly once across the messages.
    links = Counter(re.findall(r'href="([^"]+)"', "\n".join(messages)))
    expected = {p.link for f in digest.framings for p in f.top_posts}
    assert len(expected) == 300
    assert set(links) == expected
    assert set(links.values()) == {1}


def test_split_only_at_line_boundaries() -> None:
    digest = _big_digest()
    whole = render_digest(digest, KYIV, limit=10**9)
    assert len(whole) == 1
    messages = render_digest(digest, KYIV)
    lines = [
        line
        for message in messages
        for line in message.split("\n")
        if line and not line.endswith(" (continued)")
    ]
    assert lines == [line for line in whole[0].split("\n") if line]
    # Messages start with a real line, never with a blank separator.
    assert all(not message.startswith("\n") for message in messages)


def test_framing_block_kept_together_when_it_fits() -> None:
    messages = render_digest(_big_digest(), KYIV)
    for message in messages:
        headings = re.findall(r"^<b>[^<]*</b> \((framing-\d+)\)", message, re.M)
        for slug in headings:
            # All five posts of this framing are in the same message.
            index = int(slug.removeprefix("framing-"))
            assert all(f'/{1000 * index + p}"' in message for p in range(5))
    assert not any("(continued)" in m for m in messages)


def test_oversized_framing_continues_under_a_repeated_heading() -> None:
    items = [
        item(message_id=n, text="x " * 140 + "goodwill gesture " + "y " * 140) for n in range(1, 6)
    ]
    messages = render_digest(build(items), KYIV, limit=900)
    assert len(messages) > 1
    for message in messages:
        assert units(message) <= 900
        assert_valid_html(message)
    assert any("(goodwill-gesture) — 5 posts in 1 channel" in m for m in messages[:1])
    assert all(
        m.startswith("<b>Goodwill gesture</b>") and "(continued)" in m.split("\n")[0]
        for m in messages[1:]
    )
    assert Counter(re.findall(r'href="([^"]+)"', "\n".join(messages))) == {
        f"https://t.me/news/{n}": 1 for n in range(1, 6)
    }


def test_huge_post_with_emoji_fits_and_counts_utf16_units() -> None:
    text = "😀" * 10_000 + " goodwill gesture " + "🎉" * 9_982
    assert len(text) == 20_000
    digest = build([item(text=text, channel_title="😀" * 5000)])
    for limit in (TELEGRAM_LIMIT, 500, 120):
        messages = render_digest(digest, KYIV, limit=limit)
        for message in messages:
            assert units(message) <= limit
            assert_valid_html(message)
        joined = "\n".join(messages)
        assert "https://t.me/news/1" in joined
        assert "<b>goodwill gesture</b>" in joined


def test_line_longer_than_the_limit_truncates_text_not_tags() -> None:
    hostile = "&<>" * 2000
    digest = build([item(channel_title=hostile, text=f"{hostile} goodwill gesture.")])
    messages = render_digest(digest, KYIV, limit=200)
    for message in messages:
        assert units(message) <= 200
        assert_valid_html(message)
    joined = "\n".join(messages)
    assert "<i>&amp;&lt;" in joined
    assert "…</i>" in joined
    assert '<a href="https://t.me/news/1">t.me/news/1</a>' in joined


def test_tiny_limit_still_never_exceeds() -> None:
    digest = build([item(message_id=n) for n in range(1, 8)], {"goodwill-gesture": 3})
    for limit in (1, 5, 20, 60):
        for message in render_digest(digest, KYIV, limit=limit):
            assert 0 < units(message) <= limit
            assert_valid_html(message)


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit"):
        render_digest(build([]), KYIV, limit=0)


# --- plain text -------------------------------------------------------------------------


def test_render_plain_shows_links_and_no_tags() -> None:
    digest = build(
        [
            item(message_id=123, username="name", channel_title="A & <B>"),
            item(message_id=5, username=None, chat_id=-1001234567890),
        ]
    )
    plain = render_plain(render_digest(digest, KYIV))
    assert "https://t.me/name/123" in plain
    assert "https://t.me/c/1234567890/5" in plain
    assert "A & <B>" in plain
    assert "<b>" not in plain
    assert "<a " not in plain
    assert "&amp;" not in plain
    assert "“It was a goodwill gesture.”" in plain
