"""Phrase matching, normalisation and term validation (bot.rules); see also test_rules_*.py."""

from __future__ import annotations

import random

import pytest

from bot.rules import (
    Hit,
    TermError,
    TermRule,
    Token,
    check_term,
    compile_matcher,
    normalize_word,
    term_key,
    tokenize,
)


def spans(term: str, text: str) -> list[str]:
    """The matched text of every hit of one term in text."""
    hits = compile_matcher([TermRule(1, 1, term)]).find(text)
    return [text[hit.start : hit.end] for hit in hits]


@pytest.mark.parametrize(
    ("term", "text", "expected"),
    [
        pytest.param(
            "жест доброй воли", "Это был ЖЕСТ ДОБРОЙ ВОЛИ!", ["ЖЕСТ ДОБРОЙ ВОЛИ"], id="upper-case"
        ),
        pytest.param(
            "жест доброй воли", "жест — доброй, воли", ["жест — доброй, воли"], id="punctuation"
        ),
        pytest.param(
            "жест доброй воли",
            "жестом доброй воли",
            ["жестом доброй воли"],
            id="other-form-first-word-lemma",
        ),
        pytest.param(
            "жест доброй воли",
            "жест доброй волей",
            ["жест доброй волей"],
            id="other-form-last-word-lemma",
        ),
        pytest.param('"жест доброй воли"', "жестом доброй воли", [], id="quoted-other-form"),
        pytest.param('"жест доброй воли"', "жест доброй волей", [], id="quoted-other-last"),
        pytest.param("жест доброй воли", "жест воли доброй", [], id="other-order"),
        pytest.param("жест доброй воли", "жест очень доброй воли", [], id="not-consecutive"),
        pytest.param(
            "gesture of goodwill",
            "a “gesture of goodwill”",
            ["gesture of goodwill"],
            id="curly-quotes",
        ),
        pytest.param("ещё", "еще раз", ["еще"], id="yo-term-e-text"),
        pytest.param("еще", "ЕЩЁ раз", ["ЕЩЁ"], id="e-term-yo-text"),
        pytest.param("ещё", "ещ\u0435\u0308 раз", ["ещ\u0435\u0308"], id="decomposed-yo"),
        pytest.param("ЕЩЁ", "ещ\u0415\u0308", ["ещ\u0415\u0308"], id="decomposed-upper-yo"),
        pytest.param("war", "ｗａｒ is over", ["ｗａｒ"], id="full-width"),
        pytest.param("file", "ﬁle", ["ﬁle"], id="ligature"),
        pytest.param("жест", "же\u200bст", ["же\u200bст"], id="zero-width-space"),
        pytest.param(
            "жест", "ж\u200cе\u200dс\u2060т", ["ж\u200cе\u200dс\u2060т"], id="zwnj-zwj-wj"
        ),
        pytest.param("жест", "\ufeffже\u00adст", ["же\u00adст"], id="bom-soft-hyphen"),
        pytest.param("же\u200bст", "жест", ["жест"], id="zero-width-in-term"),
        pytest.param("пам’ять", "пам'ять", ["пам'ять"], id="apostrophe-ascii"),
        pytest.param("пам'ять", "памʼять", ["памʼять"], id="apostrophe-modifier"),
        pytest.param("пам'ять", "пам`ять", ["пам`ять"], id="apostrophe-backtick"),
        pytest.param("пам'ять", "ПАМ’ЯТЬ", ["ПАМ’ЯТЬ"], id="apostrophe-right-quote"),
        pytest.param("пам'ять", "пам ять", [], id="apostrophe-not-space"),
        pytest.param("пам'ять", "память", [], id="apostrophe-required"),
        pytest.param("war", "'war'", ["war"], id="quoting-apostrophes-outside"),
        pytest.param("war", "warsaw", [], id="whole-word-prefix"),
        pytest.param("war", "postwar", [], id="whole-word-suffix"),
        pytest.param("war", "war_time", ["war"], id="underscore-separates-first"),
        pytest.param("time", "war_time", ["time"], id="underscore-separates"),
        pytest.param("войну", "СВО/войну", ["войну"], id="slash-separates"),
        pytest.param("2022", "в 2022-м году", ["2022"], id="digits"),
        pytest.param("no", "no no no", ["no", "no", "no"], id="several-times"),
        pytest.param("no no", "no no no", ["no no", "no no"], id="overlapping"),
    ],
)
def test_phrase_matching(term: str, text: str, expected: list[str]) -> None:
    assert spans(term, text) == expected


def test_hit_offsets_cover_first_to_last_word() -> None:
    text = "Это был «жест — доброй, воли»!"
    (hit,) = compile_matcher([TermRule(7, 3, "жест доброй воли")]).find(text)
    assert hit == Hit(term_id=7, framing_id=3, start=9, end=28)
    assert text[hit.start : hit.end] == "жест — доброй, воли"


def test_hits_of_several_terms_are_ordered_by_start_then_term_id() -> None:
    rules = [
        TermRule(3, 1, "доброй воли"),
        TermRule(2, 1, "жест доброй воли"),
        TermRule(1, 2, "жест"),
        TermRule(4, 2, "воли"),
    ]
    text = "жест доброй воли; снова жест"
    hits = compile_matcher(rules).find(text)
    assert [(hit.term_id, text[hit.start : hit.end]) for hit in hits] == [
        (1, "жест"),
        (2, "жест доброй воли"),
        (3, "доброй воли"),
        (4, "воли"),
        (1, "жест"),
    ]


def test_rules_sharing_a_text_each_yield_a_hit() -> None:
    rules = [
        TermRule(5, 2, "жест доброй воли"),
        TermRule(4, 1, "Жест  доброй ВОЛИ"),
        TermRule(6, 3, "жест доброй воли"),
    ]
    hits = compile_matcher(rules).find("это жест доброй воли")
    assert hits == [Hit(4, 1, 4, 20), Hit(5, 2, 4, 20), Hit(6, 3, 4, 20)]


def test_rules_without_words_are_skipped() -> None:
    matcher = compile_matcher([TermRule(1, 1, ""), TermRule(2, 1, "--- !!!"), TermRule(3, 1, "да")])
    assert matcher.find("--- !!! да") == [Hit(3, 1, 8, 10)]


def test_no_rules_match_nothing() -> None:
    assert compile_matcher([]).find("жест доброй воли") == []


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("!?.,—«»" * 150_000, id="1mb-punctuation"),
        pytest.param("\u200b\u200c\u200d\u2060\ufeff\u00ad" * 1000, id="only-zero-width"),
        pytest.param("''' ’’ ``", id="only-apostrophes"),
        pytest.param("\u0308\u0301 \u0308", id="only-combining-marks"),
        pytest.param("\x00\n\t\r " * 1000, id="control-chars"),
    ],
)
def test_hostile_texts_have_no_words_and_no_hits(text: str) -> None:
    assert tokenize(text) == []
    assert compile_matcher([TermRule(1, 1, "жест")]).find(text) == []


def test_many_terms_on_a_long_text() -> None:
    rng = random.Random(20240501)
    vocabulary = [f"слово{n}" for n in range(500)]
    rules = [
        TermRule(term_id, term_id % 7, " ".join(rng.sample(vocabulary, rng.randint(1, 3))))
        for term_id in range(10_000)
    ]
    # Half the text is copied from terms so that multi-word terms are certain to occur.
    words: list[str] = []
    while len(words) < 5000:
        source = rng.choice(rules).text.split() if rng.random() < 0.5 else [rng.choice(vocabulary)]
        words.extend(source)
    text = " ".join(words)

    hits = compile_matcher(rules).find(text)

    assert hits == naive_find(rules, words)
    assert {text[hit.start : hit.end].count(" ") + 1 for hit in hits} == {1, 2, 3}


def naive_find(rules: list[TermRule], words: list[str]) -> list[Hit]:
    """Reference matcher: substring search of " term " in the one-space-joined text."""
    padded = " " + " ".join(words) + " "
    hits = []
    for rule in rules:
        needle = f" {rule.text} "
        position = padded.find(needle)
        while position >= 0:
            # padded[position] is the space before the term, so the text offset is position.
            hits.append(Hit(rule.term_id, rule.framing_id, position, position + len(rule.text)))
            position = padded.find(needle, position + 1)
    return sorted(hits, key=lambda hit: (hit.start, hit.term_id, hit.framing_id))


def test_tokenize_reports_offsets_in_the_original_text() -> None:
    text = "«ЖЕ\u200bСТ», пам’ять'"
    assert tokenize(text) == [Token("жест", 1, 6), Token("пам'ять", 9, 16)]
    assert text[1:6] == "ЖЕ\u200bСТ"
    assert text[9:16] == "пам’ять"


def test_tokenize_leaves_trailing_zero_width_outside_the_word() -> None:
    assert tokenize("жест\u200b доброй") == [Token("жест", 0, 4), Token("доброй", 6, 12)]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        pytest.param("ЁЛКА", "елка", id="upper-yo"),
        pytest.param("е\u0308лка", "елка", id="decomposed-yo"),
        pytest.param("ｗａｒ", "war", id="full-width"),
        pytest.param("ﬁle", "file", id="ligature"),
        pytest.param("Straße", "strasse", id="casefold"),
        pytest.param("же\u200bст\u00ad", "жест", id="zero-width"),
        pytest.param("памʼять", "пам'ять", id="apostrophe"),
        pytest.param("---", "", id="no-word-characters"),
    ],
)
def test_normalize_word(word: str, expected: str) -> None:
    assert normalize_word(word) == expected


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("Жест  доброй воли", "жест доброй воли", id="case-and-spaces"),
        pytest.param("жест — доброй, воли!", "жест доброй воли", id="punctuation"),
        pytest.param("ещё", "еще", id="yo"),
        pytest.param("пам’ять", "пам'ять", id="apostrophe"),
        pytest.param("же\u200bст", "жест", id="zero-width"),
        pytest.param("ｗａｒ", "war", id="full-width"),
    ],
)
def test_term_key_equal(first: str, second: str) -> None:
    assert term_key(first) == term_key(second)


def test_term_key_is_words_joined_by_one_space() -> None:
    assert term_key("  Жест,  доброй\tВОЛИ ") == "жест доброй воли"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("жест доброй воли", "жестом доброй воли", id="word-form"),
        pytest.param("жест доброй воли", "доброй воли жест", id="order"),
        pytest.param("пам'ять", "память", id="apostrophe"),
    ],
)
def test_term_key_different(first: str, second: str) -> None:
    assert term_key(first) != term_key(second)


def test_check_term_cleans_whitespace() -> None:
    assert check_term("  жест \n доброй\t\tволи ") == "жест доброй воли"


def test_check_term_accepts_max_length() -> None:
    term = "а" * 200
    assert check_term(term) == term


def test_check_term_measures_length_after_collapsing_whitespace() -> None:
    term = "а" * 198 + "      б"
    assert check_term(term) == "а" * 198 + " б"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param(" \n\t ", "empty", id="whitespace"),
        pytest.param("а" * 201, "201 characters long; the limit is 200", id="too-long"),
        pytest.param("--- !!!", "no letters or digits", id="punctuation-only"),
        pytest.param("\u200b\u00ad", "no letters or digits", id="zero-width-only"),
    ],
)
def test_check_term_rejects(text: str, message: str) -> None:
    with pytest.raises(TermError, match=message):
        check_term(text)


def test_check_term_custom_max_length() -> None:
    assert check_term("жест", max_length=4) == "жест"
    with pytest.raises(TermError, match="limit is 3"):
        check_term("жест", max_length=3)


def test_term_error_is_a_value_error() -> None:
    assert issubclass(TermError, ValueError)
