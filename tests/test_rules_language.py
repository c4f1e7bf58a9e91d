"""The term language: every form of the table, its errors with positions, and term keys."""

from __future__ import annotations

import re
import time

import pytest

from bot.rules import Hit, TermError, TermRule, check_term, compile_matcher, term_key


def hits(term: str, text: str) -> list[str]:
    return [text[h.start : h.end] for h in compile_matcher([TermRule(1, 1, term)]).find(text)]


@pytest.mark.parametrize(
    ("term", "text", "expected"),
    [
        pytest.param("жест доброй воли", "жестом доброй воли", ["жестом доброй воли"], id="lemma"),
        pytest.param("жестом доброй воли", "жест доброй воли", ["жест доброй воли"], id="lemma-2"),
        pytest.param('"жест доброй воли"', "жестом доброй воли", [], id="quoted-form"),
        pytest.param(
            '"Жест доброй воли"', "ЖЕСТ доброй ВОЛИ", ["ЖЕСТ доброй ВОЛИ"], id="quoted-case"
        ),
        pytest.param(
            'жест "доброй" воли', "жестом доброй волей", ["жестом доброй волей"], id="mix"
        ),
        pytest.param('жест "доброй" воли', "жестом доброю волей", [], id="mix-form"),
        pytest.param(
            "отступ*", "отступление, отступили", ["отступление", "отступили"], id="prefix"
        ),
        pytest.param("отступ*", "отступ", ["отступ"], id="prefix-whole-word"),
        pytest.param("отступ*", "уотступ", [], id="prefix-start-only"),
        pytest.param("жест AND воля", "воля и жест", ["воля"], id="and-evidence-earliest"),
        pytest.param("жест AND воля", "жест", [], id="and-missing"),
        pytest.param("жест OR воля", "воли нет", ["воли"], id="or"),
        pytest.param("жест AND NOT цитата", "жест", ["жест"], id="not-absent"),
        pytest.param("жест AND NOT цитата", "жест, цитата", [], id="not-present"),
        pytest.param("(жест OR акт) AND воля", "акт воли", ["акт"], id="group"),
        pytest.param("жест AND (воля OR NOT цитата)", "жест", ["жест"], id="nested-not"),
        pytest.param("NEAR/2(жест, воли)", "жест очень доброй воли", ["жест"], id="near-2"),
        pytest.param("NEAR/1(жест, воли)", "жест очень доброй воли", [], id="near-1"),
        pytest.param("NEAR/0(жест, воли)", "воли жест", [], id="near-0-invalid"),
        pytest.param("NEAR(жест, воли)", "жест " + "x " * 10 + "воли", ["жест"], id="near-10"),
        pytest.param("NEAR(жест, воли)", "жест " + "x " * 11 + "воли", [], id="near-11"),
        pytest.param("re:жест\\s+доброй", "ЖЕСТ  доброй", ["ЖЕСТ  доброй"], id="regex"),
        pytest.param("NOT", "not", [], id="operator-alone"),
    ],
)
def test_term_language(term: str, text: str, expected: list[str]) -> None:
    try:
        check_term(term)
    except TermError:
        assert expected == []  # an invalid term never matches
        assert compile_matcher([TermRule(1, 1, term)]).find(text) == []
        return
    assert hits(term, text) == expected


def test_boolean_and_near_terms_give_one_hit_per_post() -> None:
    rules = [TermRule(1, 1, "жест AND воля"), TermRule(2, 1, "NEAR/3(жест, воля)")]
    text = "жест воли, жест воли"
    assert compile_matcher(rules).find(text) == [Hit(1, 1, 0, 4), Hit(2, 1, 0, 4)]


def test_phrase_and_regex_terms_give_every_occurrence() -> None:
    rules = [TermRule(1, 1, "жест"), TermRule(2, 2, "re:во\\pL+")]
    assert compile_matcher(rules).find("жест воли; жестом волей") == [
        Hit(1, 1, 0, 4),
        Hit(2, 2, 5, 9),
        Hit(1, 1, 11, 17),
        Hit(2, 2, 18, 23),
    ]


def test_watch_example_error_names_the_position() -> None:
    with pytest.raises(TermError) as error:
        check_term("жест AND")
    assert str(error.value) == "AND at position 6 needs something after it."


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ("AND жест", "AND at position 1 needs something before it"),
        ("жест OR", "OR at position 6 needs something after it"),
        ("жест AND OR воля", "AND at position 6 needs something after it"),
        ("жест AND NOT", "NOT at position 10 needs something after it"),
        ("жест NOT воля", "NOT at position 6 must follow AND or OR"),
        ("(жест OR воля", "( at position 1 is never closed"),
        ("жест OR воля)", ") at position 13 has no matching ("),
        ("жест AND ()", "( at position 10 is empty"),
        ('"жест доброй', "quote at position 1 is never closed"),
        ('жест ""', "quotes at position 6 hold no words"),
        ("(жест) воля", "Put AND or OR before 'воля' at position 8"),
        ("NEAR/5(жест)", "NEAR at position 1: write NEAR/5(first phrase, second phrase)"),
        ("NEAR/5(жест, воля", "NEAR at position 1"),
        ("NEAR/99(жест, воля)", "NEAR at position 1: the distance must be 1 to 50"),
        ("*жест", "* at position 1 must end a word"),
        ("же*ст", "* at position 3 must end a word"),
        ("ж*", "prefix at position 1 is too short"),
        ("NOT жест", "could match a post without finding any of its words"),
        ("жест OR NOT воля", "could match a post without finding any of its words"),
        ("re:(a", "not valid for RE2: missing ): (a"),
        ("re:(?<=a)b", "not valid for RE2"),
        ("re:a*", "matches empty text"),
        ("re:", "re: needs a regular expression"),
        ("--- !!!", "no letters or digits"),
        ("", "empty"),
    ],
)
def test_malformed_terms_are_refused_with_a_reason(term: str, message: str) -> None:
    with pytest.raises(TermError, match=re.escape(message)):
        check_term(term)


def test_lowercase_operators_are_words() -> None:
    assert hits("war and peace", "War and Peace") == ["War and Peace"]


def test_commas_outside_near_are_punctuation() -> None:
    assert check_term("жест, доброй воли") == "жест, доброй воли"
    assert hits("жест, доброй воли", "жест доброй воли") == ["жест доброй воли"]


def test_regex_keeps_its_whitespace_and_is_linear_time() -> None:
    assert check_term("  re:a  b ") == "re:a  b"
    matcher = compile_matcher([TermRule(1, 1, "re:(a+)+$")])
    text = "a" * 100_000 + "!"
    start = time.perf_counter()
    assert matcher.find(text) == []
    assert time.perf_counter() - start < 1.0  # a backtracking engine would never finish


def test_term_length_limit_is_configurable() -> None:
    assert check_term("жест AND воля", max_length=13) == "жест AND воля"
    with pytest.raises(TermError, match="14 characters long; the limit is 13"):
        check_term("жест AND  воля!", max_length=13)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("жест AND NOT цитата", "Жест  AND NOT  ЦИТАТА"),
        ('"Жест" воли', '"жест" воли'),
        ("(a OR b) AND c", "( a OR b ) AND c"),
        ("NEAR(a, b)", "NEAR/10(a,b)"),
        ("отступ*", "ОТСТУП*"),
        ("«жест»", '"жест"'),
    ],
)
def test_term_key_equal(first: str, second: str) -> None:
    assert term_key(first) == term_key(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ('"жест"', "жест"),
        ("жест AND воля", "жест OR воля"),
        ("отступ*", "отступ"),
        ("re:Жест", "re:жест"),
        ("(a OR b) AND c", "a OR (b AND c)"),
    ],
)
def test_term_key_different(first: str, second: str) -> None:
    assert term_key(first) != term_key(second)


def test_term_key_renders_the_canonical_term() -> None:
    assert term_key('Жест "Доброй  воли" AND NOT (цитата OR ирония)') == (
        'жест "доброй воли" AND NOT (цитата OR ирония)'
    )


def test_stored_terms_that_no_longer_parse_are_skipped() -> None:
    rules = [TermRule(1, 1, "жест AND"), TermRule(2, 1, "NOT воля"), TermRule(3, 1, "воля")]
    assert compile_matcher(rules).find("жест воли") == [Hit(3, 1, 5, 9)]


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("organised withdrawal", "Kremlin TV calls it an organized withdrawal."),
        ("organized withdrawal", "Moscow calls it an organised withdrawal."),
        ("mobilisation", "the partial mobilization was announced"),
        ("recognise the referendums", "they will never recognize the referendums"),
        ("analysed", "analysts analyzed the footage"),
        ("colour revolution", "another 'color revolution', they claim"),
        ("defence ministry", "the Defense Ministry said"),
        ("programme", "a military program"),
        ("manoeuvre", "a clever maneuver"),
        ("behaviour", "provocative behavior"),
    ],
)
def test_british_and_american_spellings_match_each_other(term: str, text: str) -> None:
    assert hits(term, text)


@pytest.mark.parametrize(
    ("term", "text"), [("four", "for"), ("our", "or"), ("hour", "hor"), ("rise", "rize")]
)
def test_short_words_keep_their_own_spelling(term: str, text: str) -> None:
    assert hits(term, f"word {text} word") == []
