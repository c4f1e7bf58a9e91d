"""The web-preview parser (bot/sources/webpreview.py): our own fixtures, then the real saved
pages in ../shared/data/tme_s/ (skipped with a reason where that folder is absent)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sources.usernames import UsernameError, parse_username
from bot.sources.webpreview import (
    PageKind,
    PreviewPost,
    parse_page,
    parse_views,
    to_incoming,
)
from storage.chat_ids import SYNTHETIC_ID_BASE, is_synthetic, synthetic_chat_id
from tests.conftest import SHARED_DATA

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tme_s"
SHARED_TME = SHARED_DATA / "tme_s"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def shared(relative: str) -> str:
    path = SHARED_TME / relative
    if not path.exists():
        pytest.skip(f"shared data not present: {path} (only in the team's workspace)")
    return path.read_text(encoding="utf-8")


# --- usernames and ids ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "@fw_test_channel",
        "fw_test_channel",
        "FW_Test_Channel",
        "https://t.me/fw_test_channel",
        "http://t.me/fw_test_channel/",
        "t.me/s/fw_test_channel",
        "https://t.me/s/FW_test_channel",
        "  @fw_test_channel  ",
        "https://telegram.me/fw_test_channel",
    ],
)
def test_accepted_username_forms(given: str) -> None:
    assert parse_username(given) == "fw_test_channel"


@pytest.mark.parametrize(
    "given",
    [
        "",
        "@",
        "abcd",  # 4 characters
        "a" * 33,
        "1channel",
        "_channel",
        "chan-nel",
        "канал_новостей",
        "https://t.me/fw_test_channel/123",  # a post link, not a channel
        "https://example.com/fw_test_channel",
        "t.me/s/fw_test_channel?before=5",
        "@fw test",
        "<b>fw_test_channel</b>",
    ],
)
def test_refused_usernames_say_the_rule(given: str) -> None:
    with pytest.raises(UsernameError) as caught:
        parse_username(given)
    message = str(caught.value)
    assert "5–32 characters" in message and "starting with a letter" in message
    assert "@name" in message


def test_invite_links_are_refused_as_private() -> None:
    for link in ("https://t.me/+AbCdEf123", "t.me/joinchat/AbCdEf"):
        with pytest.raises(UsernameError, match="private channel"):
            parse_username(link)


def test_refusal_quotes_long_input_shortened() -> None:
    with pytest.raises(UsernameError) as caught:
        parse_username("x" * 500)
    assert len(str(caught.value)) < 400


def test_synthetic_ids_are_stable_case_blind_distinct_and_outside_the_bot_api() -> None:
    one = synthetic_chat_id("fw_test_channel")
    assert one == synthetic_chat_id("FW_Test_Channel")
    assert one != synthetic_chat_id("fw_test_channel2")
    assert one <= SYNTHETIC_ID_BASE and is_synthetic(one)
    assert one > SYNTHETIC_ID_BASE - 2**48  # fits SQLite's and Python's 64-bit integers
    assert not is_synthetic(-1001234567890) and not is_synthetic(-(2**52))


@pytest.mark.parametrize(
    ("label", "views"),
    [
        ("1", 1),
        ("396", 396),
        ("1.2K", 1200),
        ("37.2K", 37200),
        ("171.9K", 171900),
        ("3.4M", 3_400_000),
        ("1.25M", 1_250_000),
        ("2,345", 2345),
        ("1K", 1000),
        ("", None),
        ("lots", None),
        ("1.2.3K", None),
    ],
)
def test_view_counts(label: str, views: int | None) -> None:
    assert parse_views(label) == views


# --- our own fixtures ------------------------------------------------------------------------


def test_every_detail_of_a_post_is_read() -> None:
    page = parse_page(fixture("fw_test_channel.html"), "fw_test_channel")

    assert page.kind is PageKind.POSTS
    assert page.title == "FrameWatch Test & Channel"
    assert page.older == 101 and page.skipped == 0
    by_id = {p.message_id: p for p in page.posts}
    assert sorted(by_id) == [101, 102, 103, 104, 105]

    first = by_id[101]
    assert first.username == "FW_Test_Channel"  # the channel's own spelling
    assert first.posted_at == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert first.text == (
        "🔥 Отход из Херсона — это «жест доброй воли».\n"
        "Read the report (https://example.org/report?id=7&lang=en), "
        "and https://example.org/raw: https://example.org/raw\n"
        "\n"
        "Via @fw_other_channel #goodwill & more"
    )
    assert (first.views, first.edited, first.media, first.reply_to) == (1200, False, "photo", None)

    edited = by_id[102]
    assert edited.edited and edited.author == "Ivan Editor"
    assert edited.forwarded_from == "Source Channel"
    assert edited.forwarded_link == "https://t.me/fw_source_channel/555"
    assert (edited.views, edited.media) == (15, "video")

    reply = by_id[103]
    assert reply.reply_to == 101
    assert reply.text == "Ответ: никакого отступления не было."  # not the quoted text
    assert (reply.views, reply.media) == (3_400_000, "document")

    assert (by_id[104].media, by_id[104].text, by_id[104].views) == ("poll", "", 987)
    voice = by_id[105]
    assert (voice.forwarded_from, voice.forwarded_link, voice.media) == (
        "Anonymous Sender",
        None,
        "voice",
    )
    assert voice.views == 2345


def test_posts_of_another_channel_on_the_page_are_skipped() -> None:
    page = parse_page(fixture("fw_test_channel.html"), "fw_other_channel")
    assert page.posts == () and page.skipped == 5


@pytest.mark.parametrize(
    ("name", "kind", "title"),
    [
        ("contact_card.html", PageKind.NO_PREVIEW, "Telegram: Contact @fw_gone_channel"),
        ("empty_channel.html", PageKind.EMPTY, "Quiet Channel"),
        ("not_a_preview.html", PageKind.UNRECOGNISED, ""),
    ],
)
def test_pages_without_posts_say_what_they_are(name: str, kind: PageKind, title: str) -> None:
    page = parse_page(fixture(name), "fw_test_channel")
    assert (page.kind, page.posts, page.title) == (kind, (), title)


def test_malformed_blocks_are_counted_not_read() -> None:
    page = parse_page(fixture("malformed.html"), "fw_test_channel")
    # A non-numeric id, a post without a date and one with an unreadable date.
    assert page.kind is PageKind.POSTS and page.posts == () and page.skipped == 3


@pytest.mark.parametrize("cut_marker", ['data-post="FW_Test_Channel/105"', "Anonymous Sender"])
def test_a_truncated_page_keeps_the_posts_before_the_cut(cut_marker: str) -> None:
    html = fixture("fw_test_channel.html")
    page = parse_page(html[: html.index(cut_marker) + 10], "fw_test_channel")
    assert [p.message_id for p in page.posts] == [101, 102, 103, 104]
    assert page.posts[0].text.startswith("🔥 Отход из Херсона")


def test_a_page_cut_inside_a_text_does_not_keep_half_a_text() -> None:
    html = fixture("fw_test_channel.html")
    page = parse_page(html[: html.index("никакого отступления")], "fw_test_channel")
    assert [p.message_id for p in page.posts] == [101, 102]
    assert page.skipped == 1


@pytest.mark.parametrize("garbage", ["", "\x00\x01\x02", "<<<>>>", "<html>" * 10_000, "💥" * 1000])
def test_garbage_is_unrecognised_not_an_error(garbage: str) -> None:
    assert parse_page(garbage, "fw_test_channel").kind is PageKind.UNRECOGNISED


def test_to_incoming_marks_the_source_and_dates_an_edit_by_when_it_was_seen() -> None:
    seen = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    posted = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    post = PreviewPost("FW_Test_Channel", 7, posted, "text", views=5, edited=True, media="photo")

    incoming = to_incoming(post, -5, "Title", seen)

    assert (incoming.chat_id, incoming.message_id, incoming.source) == (-5, 7, "web")
    assert (incoming.channel_username, incoming.channel_title) == ("FW_Test_Channel", "Title")
    assert (incoming.posted_at, incoming.edited_at) == (posted, seen)
    assert (incoming.views, incoming.media) == (5, "photo")
    unedited = PreviewPost("FW_Test_Channel", 8, posted, "text")
    assert to_incoming(unedited, -5, "Title", seen).edited_at is None


# --- the real saved pages in ../shared/data/tme_s/ --------------------------------------------


def test_real_full_page_of_a_channel() -> None:
    page = parse_page(shared("apkawa_rust-any2feed/full.html"), "topwar_official")

    assert page.kind is PageKind.POSTS and page.skipped == 0
    assert page.title == "Военное обозрение"
    ids = [p.message_id for p in page.posts]
    assert len(ids) == 12 and ids[0] == 70989 and ids[-1] == 71008
    assert page.older == 70989
    assert all(p.posted_at.tzinfo is not None for p in page.posts)
    by_id = {p.message_id: p for p in page.posts}
    assert by_id[70989].views == 37200 and by_id[70989].media == "photo"
    assert by_id[70989].text.startswith("В Санкт-Петербурге в небо над городом подняли")
    assert "\n" in by_id[70989].text  # <br/> kept as a newline, indentation collapsed
    forwarded = by_id[70996]
    assert forwarded.forwarded_from == "Военкор Ярем"
    assert forwarded.forwarded_link == "https://t.me/yaremshooter/1066"
    assert "на расстояние 180 метров (https://t.me/infantmilitario/93419)" in forwarded.text
    assert forwarded.text.endswith("@yaremshooter")  # a mention stays as written
    assert by_id[71006].forwarded_link == "https://t.me/vysokygovorit/10899"


@pytest.mark.parametrize(
    ("name", "media"),
    [
        ("message_text.html", None),
        ("message_poll.html", "poll"),
        ("message_voice.html", "voice"),
        ("message_sticker.html", "sticker"),
        ("message_media_file.html", "document"),
        ("message_media_round_video.html", "video_note"),
        ("message_media_photo_and_video.html", "video"),
        ("message_media_forwarded_from.html", "photo"),
        ("message_link_preview.html", None),  # a link preview is not the post's media
    ],
)
def test_real_posts_media_kinds(name: str, media: str | None) -> None:
    page = parse_page(shared(f"apkawa_rust-any2feed/{name}"))
    (post,) = page.posts
    assert post.media == media


def test_real_edited_mark_author_signature_and_forward_without_link() -> None:
    (edited,) = parse_page(shared("apkawa_rust-any2feed/message_link_preview_video.html")).posts
    assert edited.edited and edited.message_id == 11226 and edited.views == 69400

    (signed,) = parse_page(shared("apkawa_rust-any2feed/message_with_from_author.html")).posts
    assert signed.author is not None and signed.author.endswith("rkadiy Ivanov")
    assert signed.text == "test" and not signed.edited

    (voice,) = parse_page(shared("apkawa_rust-any2feed/message_voice.html")).posts
    assert (voice.forwarded_from, voice.forwarded_link) == ("Спортивный Екб", None)
    assert voice.text.startswith("Обсудили:\n\n- Сталина не забыть\n- Плохие фильмы")


def test_real_anonymised_page_with_nested_text_and_unsupported_media() -> None:
    page = parse_page(shared("shady2k_lifemodel/telegram-test-channel.html"), "test_channel")
    by_id = {p.message_id: p for p in page.posts}
    assert sorted(by_id) == [1001, 1003, 1010] and page.older == 1001
    assert by_id[1001].text.endswith(
        "Telegram (https://t.me/test_channel) | Admin (https://t.me/TestBot)"
    )
    assert by_id[1003].media == "other" and by_id[1003].text == ""
    quoted = by_id[1010].text
    assert quoted.count("This is a forwarded message") == 1  # nested text divs read once
    assert "Visited the construction site" in quoted
    assert by_id[1010].forwarded_link == "https://t.me/another_channel/500"


def test_real_fragments_without_a_post_are_unrecognised() -> None:
    for name in ("poll.html", "link_preview.html", "media_photo.html", "media_video.html"):
        assert parse_page(shared(f"apkawa_rust-any2feed/{name}")).kind is PageKind.UNRECOGNISED
