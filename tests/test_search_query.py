"""The /search language (bot/search_query.py), lemma keys (bot/search_lemmas.py) and snippets
(bot/search.py): pure functions, checked on real FTS5 where the output is a MATCH expression."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.normalize import normalize_word
from bot.search import highlight_of, snippet
from bot.search_lemmas import forms_keys, lemma_key, lemma_text
from bot.search_query import (
    MAX_QUERY_LENGTH,
    MAX_WORDS,
    AllOf,
    AnyOf,
    Filters,
    Phrase,
    SearchInputError,
    lemma_query,
    parse_search,
    render,
)
from storage.search import HIGHLIGHT_END, HIGHLIGHT_START

TOKENIZE = "unicode61 remove_diacritics 0 tokenchars '_'"  # as migration 0014


def lemma_table(*texts: str) -> sqlite3.Connection:
    """An in-memory post_lemmas holding these texts as rowids 1, 2, ..."""
    conn = sqlite3.connect(":memory:")
    conn.execute(
        f'CREATE VIRTUAL TABLE post_lemmas USING fts5(forms, lemmas, tokenize="{TOKENIZE}")'
    )
    for rowid, text in enumerate(texts, 1):
        lemmas = lemma_text(text)
        conn.execute(
            "INSERT INTO post_lemmas (rowid, forms, lemmas) VALUES (?, ?, ?)",
            (rowid, lemmas.forms, lemmas.lemmas),
        )
    return conn


def found(conn: sqlite3.Connection, query: str) -> list[int]:
    rows = conn.execute(
        "SELECT rowid FROM post_lemmas WHERE post_lemmas MATCH ? ORDER BY rowid",
        (lemma_query(query),),
    )
    return [r[0] for r in rows]


# --- meaning: every inflected form ------------------------------------------------------


def test_a_query_finds_every_inflected_form_in_russian_ukrainian_and_english() -> None:
    conn = lemma_table(
        "Преступления киевского режима продолжаются.",
        "Это был жест доброй воли, сказали в Москве.",
        "Росія назвала це жестом доброї волі.",
        "Troop withdrawals were announced today.",
        "Погода хорошая, режимы питания.",
    )
    assert found(conn, "киевский режим") == [1]
    assert found(conn, "жест доброї волі") == [3]
    assert found(conn, "жест доброй воли") == [2]
    assert found(conn, "withdrawal") == [4]
    assert found(conn, "режим") == [1, 5]


def test_quoted_words_keep_the_exact_form_and_prefixes_and_operators_work() -> None:
    conn = lemma_table(
        "Преступления киевского режима.",
        "Киевский режим пал.",
        "Перегруппировка войск под Харьковом.",
        "Нацисты в Киеве и нацисты во Львове.",
    )
    assert found(conn, '"киевского"') == [1]
    assert found(conn, '"киевского" режим') == [1]
    assert found(conn, '"киевский режим"') == [2]  # a quoted phrase: exact forms in a row
    assert found(conn, "перегруппиров*") == [3]
    assert found(conn, "перегруппировка OR киевский") == [1, 2, 3]
    assert found(conn, "нацисты NOT киев") == []
    assert found(conn, "нацист NOT харьков") == [4]
    assert found(conn, "(харьков OR львов) войско") == [3]


def test_a_word_matches_posts_sharing_one_of_its_lemmas_not_other_words() -> None:
    conn = lemma_table("Они стали сильнее.", "Покрыто сталью.", "Мост из стальной балки.")
    assert found(conn, "стать") == [1]  # стали: a form of стать (and of сталь)
    assert found(conn, "сталь") == [1, 2]  # сталью: of сталь only; стальной: another lemma
    assert found(conn, "стальной") == [3]


def test_lemma_keys_are_one_fts_token_per_word() -> None:
    text = "П’ять жестів доброї волі, x² і t.me/news"
    lemmas = lemma_text(text)
    assert len(lemmas.forms.split()) == len(lemmas.lemmas.split())
    conn = lemma_table(text)
    vocab = conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(post_lemmas, instance)")
    del vocab
    counts = conn.execute("SELECT col, count(*) FROM v GROUP BY col").fetchall()
    assert dict(counts) == {"forms": len(lemmas.forms.split()), "lemmas": len(lemmas.forms.split())}
    assert found(conn, "п'ять") == [1]


def test_forms_keys_hold_the_words_own_key_in_every_mode_of_its_languages() -> None:
    modes = {"режима": ("ru", "uk", "other"), "волі": ("uk", "other"), "рашистами": ("ru",)}
    for word, word_modes in {**modes, "withdrawals": ("other",), "2024": ("other",)}.items():
        norm = normalize_word(word)
        assert all(lemma_key(mode, norm) in forms_keys(norm) for mode in word_modes), word


# --- the parser ---------------------------------------------------------------------------


def test_parse_words_phrases_prefixes_and_operators() -> None:
    query = parse_search('киевский "жест доброй" перегруп* OR NOT_A_FILTER нет NOT да')
    assert isinstance(query.root, AnyOf)
    left, right = query.root.options
    assert left == AllOf(
        (
            Phrase(("киевский",), "lemma"),
            Phrase(("жест", "доброй"), "exact"),
            Phrase(("перегруп",), "prefix"),
        )
    )
    assert right == AllOf(
        (Phrase(("not", "a", "filter"), "lemma"), Phrase(("нет",), "lemma")),
        (Phrase(("да",), "lemma"),),
    )


def test_filters_are_read_and_left_out_of_the_words() -> None:
    query = parse_search(
        "режим channel:@RIA_news framing:kyiv-regime since:2024-05-01 until:2024-05-31 watchdog:no"
    )
    assert query.root == Phrase(("режим",), "lemma")
    assert query.filters == Filters(
        "ria_news", "kyiv-regime", date(2024, 5, 1), date(2024, 5, 31), "no"
    )
    assert parse_search("x channel:t.me/some_name").filters.channel == "some_name"
    assert parse_search("x channel:-1001234").filters.channel == "-1001234"
    assert parse_search("x watchdog:only").filters.watchdog == "only"
    assert parse_search("see https://t.me/x").root is not None  # a link is words, not a filter


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ('"unclosed', "double quote is not closed"),
        ("foo:bar x", "Unknown filter “foo:”. Filters: channel:@name"),
        ("x since:2024-13-01", "since: takes a date as YYYY-MM-DD"),
        ("x until:yesterday", "until: takes a date as YYYY-MM-DD"),
        ("x until:9999-12-31", "until: takes a date as YYYY-MM-DD"),
        ("x since:0001-01-01", "since: takes a date as YYYY-MM-DD"),
        ("x since:2024-06-01 until:2024-05-01", "since: is after until:"),
        ("x channel:@ab", "channel: takes a channel's @username"),
        ("x channel:-10012345678901234567890", "channel: takes a channel's @username"),
        ("x channel:-١٠٠١", "channel: takes a channel's @username"),
        ("x channel:", "channel: needs a value"),
        ("x framing:Ба!", "framing: takes a framing's slug"),
        ("x watchdog:maybe", "watchdog: takes no"),
        ("x since:2024-05-01 since:2024-05-02", "since: is given twice"),
        ("NOT x", "NOT needs words before it"),
        ("x NOT", "NOT needs a word after it"),
        ("x OR", "OR needs words on both sides"),
        ("OR x", "OR needs words on both sides"),
        ("(x", "parenthesis “(” is not closed"),
        ("x)", "closing parenthesis “)” has no opening one"),
        ("", "Write at least one word"),
        ("^ * ::", "Write at least one word"),
        ("since:2024-05-01", "Write at least one word"),
        ("x" * (MAX_QUERY_LENGTH + 1), "too long"),
        (" ".join(["w"] * (MAX_WORDS + 1)), "too many words"),
        ("x \ud800", "not valid text"),
    ],
)
def test_hostile_queries_get_a_message_saying_what_to_write(query: str, says: str) -> None:
    with pytest.raises(SearchInputError, match=None) as caught:
        parse_search(query)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    "query",
    [
        "NEAR(a b, 2)",
        'a "*"',
        "^a",
        "a:b:c",
        "{forms}: x",
        "lemmas : x",
        '""',
        "a * b",
        "-x",
        "x*y",
    ],
)
def test_fts5_syntax_in_a_query_is_only_words(query: str) -> None:
    conn = lemma_table("a b x y lemmas forms")
    try:
        expression = lemma_query(query)
    except SearchInputError:
        return  # refused with a message: fine too
    conn.execute("SELECT rowid FROM post_lemmas WHERE post_lemmas MATCH ?", (expression,))
    assert expression.count('"') % 2 == 0


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_refused_with_a_message_or_is_a_valid_match_expression(text: str) -> None:
    conn = lemma_table("a b c")
    try:
        query = parse_search(text)
    except SearchInputError as exc:
        message = str(exc)
        assert message.endswith(".")
        return
    conn.execute("SELECT rowid FROM post_lemmas WHERE post_lemmas MATCH ?", (render(query.root),))
    fts = sqlite3.connect(":memory:")
    fts.execute("CREATE VIRTUAL TABLE posts_fts USING fts5(text)")
    fts.execute(
        "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?", (render(query.root, exact=True),)
    )


def test_a_huge_bare_phrase_falls_back_to_its_exact_forms() -> None:
    expression = lemma_query("стали.стали.стали.стали")
    assert expression == 'forms : "стали стали стали стали"'


# --- snippets -------------------------------------------------------------------------------


def marked(text: str) -> list[str]:
    """The marked words of a snippet."""
    return [part.split(HIGHLIGHT_END)[0] for part in text.split(HIGHLIGHT_START)[1:]]


def test_snippets_mark_the_matched_words_in_the_form_they_have_in_the_post() -> None:
    light = highlight_of(parse_search("киевский режим").root)
    text = "Вчера. " + "слово " * 30 + "Преступления Киевского режима продолжаются, сказал он."
    got = snippet(text, light)
    assert marked(got) == ["Киевского", "режима"]
    assert got.startswith("…") and got.endswith("сказал он.")
    light = highlight_of(parse_search('"доброї" перегруп* NOT волі').root)
    got = snippet("Жест доброї волі і перегрупування.", light)
    assert marked(got) == ["доброї", "перегрупування"]  # a NOT word is not marked
    on, off = HIGHLIGHT_START, HIGHLIGHT_END
    assert got == f"Жест {on}доброї{off} волі і {on}перегрупування{off}."
