"""The Telegram text renderer (bot.telegram_text), by example and by property.

The properties feed arbitrary Unicode (control characters, lone surrogates, astral
characters, bidi marks, huge lengths) through it and check every message with the same
HTML checker the fake Bot API uses (tests/telegram_html.py).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.constants import MessageLimit

from bot.telegram_text import (
    ELLIPSIS,
    MAX_CAPTION,
    MAX_TEXT,
    NOTHING,
    Line,
    Piece,
    Text,
    clean,
    escape,
    fit,
    render,
    units,
)
from tests.telegram_html import TelegramHTMLError, check_message, parse

BOUNDED = settings(max_examples=100, deadline=None, database=None)
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

# Every code point, surrogates included, with the awkward ones drawn more often.
_any_char = st.characters(codec=None, exclude_categories=())
_awkward = st.sampled_from(
    ["\x00", "\x1b", "\x9b", "\r", "\n", "\t", "\ud800", "\udfff", "\u202e", "\u200f",
     "\U0001f600", "<", ">", "&", '"', "'", "\x02", "\x03", ";", "&amp;", "<b>"]
)  # fmt: skip
_short_text = st.lists(st.one_of(_any_char, _awkward), max_size=40).map("".join)
# Huge lengths cheaply: a short text repeated up to a few thousand times.
_user_text = st.one_of(
    _short_text, st.builds(lambda t, n: t * n, _short_text, st.integers(1, 3000))
)
_markup = st.sampled_from(
    [("<b>", "</b>"), ("<i>", "</i>"), ('<a href="https://t.me/x/1">', "</a>"), ("", "")]
)


@st.composite
def _lines(draw: st.DrawFn) -> Line:
    pieces: list[Piece] = []
    for _ in range(draw(st.integers(0, 4))):
        before = draw(st.sampled_from(["", "• ", "\n", " · ", "  "]))
        opening, closing = draw(_markup)
        cut_start = draw(st.booleans())
        pieces += [before, opening, Text(draw(_user_text), cut_start), closing]
    return pieces


def _assert_accepted(messages: list[str], limit: int) -> None:
    assert messages, "a reply always has a message"
    for message in messages:
        assert check_message(message, limit) == "", message[:200]
        assert units(message) <= limit
        assert not CONTROLS.search(message)


@settings(BOUNDED, max_examples=60)  # each example renders up to 12 lines of up to 120,000 chars
@given(st.lists(_lines(), max_size=12), st.sampled_from([MAX_TEXT, MAX_CAPTION, 64]))
def test_every_message_parses_fits_and_is_not_empty(lines: list[Line], limit: int) -> None:
    _assert_accepted(render(lines, limit), limit)


@BOUNDED
@given(st.lists(_short_text, min_size=1, max_size=30))
def test_lines_that_fit_are_kept_whole_in_order(texts: list[str]) -> None:
    """Nothing is lost or reordered when no line needs shortening."""
    lines: list[Line] = [["<b>", Text(t), f"</b> #{i}"] for i, t in enumerate(texts)]
    messages = render(lines)
    _assert_accepted(messages, MAX_TEXT)
    shown = "\n".join(parse(m) for m in messages)
    assert shown == "\n".join(f"{clean(t)} #{i}" for i, t in enumerate(texts))


@BOUNDED
@given(_user_text)
def test_clean_keeps_newlines_and_tabs_only(text: str) -> None:
    cleaned = clean(text)
    assert not CONTROLS.search(cleaned)
    assert cleaned.count("\t") == text.count("\t")
    assert parse(escape(text)) == cleaned


def test_clean_examples() -> None:
    assert clean("a\x00b\x1b[31mc\x9bd\x7f") == "ab[31mcd"
    assert clean("one\r\ntwo\rthree\n\tfour") == "one\ntwo\nthree\n\tfour"
    assert clean("lone \ud800 surrogate") == "lone \ufffd surrogate"
    assert clean("\u202eRTL \U0001f600") == "\u202eRTL \U0001f600"


def test_limits_are_telegrams_own_constants() -> None:
    assert MAX_TEXT == MessageLimit.MAX_TEXT_LENGTH == 4096
    assert MAX_CAPTION == MessageLimit.CAPTION_LENGTH == 1024


def test_long_user_text_is_shortened_markup_kept() -> None:
    line = fit(["<b>", Text("T" * 5000), "</b> (", Text("slug"), ")"], 100)
    assert line.startswith("<b>TTT") and line.endswith(f"T{ELLIPSIS}</b> (slug)")
    assert units(line) <= 100
    before = fit([Text("x" * 50 + "start", cut_start=True)], 10)
    assert before == f"{ELLIPSIS}xxxxstart"


def test_escaped_text_is_never_cut_inside_an_entity() -> None:
    line = fit(["<i>", Text("<" * 5000), "</i>"], 50)
    assert parse(line) == "<" * 10 + ELLIPSIS
    assert units(line) <= 50


def test_emoji_count_two_units_and_are_not_split() -> None:
    line = fit([Text("\U0001f600" * 100)], 11)
    assert line == "\U0001f600" * 5 + ELLIPSIS


def test_an_empty_reply_still_says_something() -> None:
    assert render([]) == [NOTHING]
    assert render(["", [Text("\x00\x1b")], "<b></b>"]) == [NOTHING]


def test_messages_split_between_lines_only() -> None:
    lines: list[Line] = [["<b>", Text(f"line {i} " + "x" * 90), "</b>"] for i in range(100)]
    messages = render(lines)
    assert len(messages) >= 3
    _assert_accepted(messages, MAX_TEXT)
    assert sum(m.count("<b>") for m in messages) == 100


@pytest.mark.parametrize(
    ("markup", "problem"),
    [
        ("<b>bold", "Can't find end tag corresponding to start tag b"),
        ("<b>x</i>", "doesn't match"),
        ("<script>x</script>", "Unsupported start tag"),
        ("a < b", "Unclosed or empty tag"),
        ("AT&T", "Unsupported &"),
        ("&nbsp;", "Unsupported entity"),
        ("<a>x</a>", "href"),
        ('<span class="x">x</span>', "tg-spoiler"),
        ("x</b>", "Unexpected end tag"),
    ],
)
def test_the_checker_refuses_what_telegram_refuses(markup: str, problem: str) -> None:
    with pytest.raises(TelegramHTMLError, match=re.escape(problem)):
        parse(markup)


def test_the_checker_accepts_telegrams_tags_and_entities() -> None:
    markup = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k"
        '</strike><del>d</del><span class="tg-spoiler">p</span><tg-spoiler>t</tg-spoiler>'
        '<a href="https://t.me/a?b=1&amp;c=2">a</a><tg-emoji emoji-id="5368324170671202286">'
        '👍</tg-emoji><code>c</code><pre><code class="language-python">p</code></pre>'
        "<blockquote expandable>q</blockquote>&lt;&gt;&amp;&quot;&#33;&#x41;"
    )
    assert parse(markup).endswith('q<>&"!A')
    assert check_message("<b> </b>\n") == "Bad Request: message text is empty"
    assert check_message("x" * 4097) == "Bad Request: message is too long"
    assert check_message("&lt;" * 4096) == ""
