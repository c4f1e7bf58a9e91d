"""The engine behind bot.rules: normalisation, languages, lemmas, search paths, threads, explain."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.rules import (
    FoundWord,
    Hit,
    TermRule,
    compile_matcher,
    detect_language,
    explain,
    morph,
    normalize_word,
    tokenize,
)
from bot.rules.engine import Engine


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        pytest.param("же\u0441т", "жест", id="cyrillic"),
        pytest.param("жеcт", "жест", id="latin-c-in-cyrillic"),
        pytest.param("BОЙНА", "война", id="latin-capital-b-in-cyrillic"),
        pytest.param("NАTO", "nato", id="cyrillic-a-in-latin"),
        pytest.param("ґанок", "ганок", id="ghe"),
        pytest.param("Ґ", "г", id="capital-ghe"),
        pytest.param("во́ли", "воли", id="stress-mark"),
        pytest.param("пам’ять", "пам'ять", id="apostrophe"),
        pytest.param("ＷＡＲ", "war", id="full-width"),
        pytest.param("ЁЖ", "еж", id="yo"),
    ],
)
def test_normalize_word(word: str, expected: str) -> None:
    assert normalize_word(word) == expected


def test_a_word_in_one_script_keeps_its_letters() -> None:
    assert normalize_word("cocoa") == "cocoa"
    assert normalize_word("сосна") == "сосна"


def test_tokenize_keeps_marks_and_inner_joiners_only() -> None:
    text = "\u0308а\u0308б ’в’ г\u200b"
    assert [(t.norm, text[t.start : t.end]) for t in tokenize(text)] == [
        ("\u04d3б", "а\u0308б"),  # NFKC composes а + U+0308 into ӓ
        ("в", "в"),
        ("г", "г"),
    ]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Это был жест доброй воли, объявили вчера.", "ru"),
        ("Це був жест доброї волі, оголосили вчора.", "uk"),
        ("This was a gesture of goodwill, they said.", "en"),
        ("Путин провел совещание по экономике страны", "ru"),  # no ы/э/ъ/ё, 20+ letters
        ("жест доброй воли", "other"),  # too short to tell Russian from Ukrainian
        ("12345 !!!", "other"),
        ("Ελληνικά", "other"),
        ("Це цитата: «это был жест доброй воли», пише ЦПД і пояснює, чому це їхня вигадка", "uk"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize(
    ("lang", "word"),
    [
        ("ru", "жестом"),
        ("ru", "стали"),
        ("ru", "еще"),
        ("ru", "перегруппировку"),
        ("ru", "отступили"),
        ("uk", "волі"),
        ("uk", "доброї"),
        ("uk", "пам'ять"),
        ("uk", "ганок"),
    ],
)
def test_dictionary_readings_agree_with_pymorphy_public_api(lang: str, word: str) -> None:
    """paradigms() reads pymorphy3's dictionary directly; it must say what parse() says."""
    parses = [p for p in morph.analyzer(lang).parse(word) if p.is_known]
    normal = lambda w: w.replace("ё", "е").replace("ґ", "г")  # noqa: E731
    expected = {normal(p.normal_form): set() for p in parses}
    for parse in parses:
        expected[normal(parse.normal_form)].update(normal(f.word) for f in parse.lexeme)
    readings = morph.paradigms(lang, word)
    assert {lemma: set(forms) for lemma, forms in readings} == expected
    assert readings  # every word above is in the dictionary


def test_unknown_words_are_guessed() -> None:
    assert morph.paradigms("ru", "рашистами") == ()
    assert "рашист" in morph.predicted_lemmas("ru", "рашистами")
    assert morph.predicted_lemmas("ru", "жестом") == ()  # known: no guess


VOCABULARY = [
    "это",
    "этот",
    "этого",
    "его",
    "он",
    "оно",
    "их",
    "они",
    "стали",
    "сталь",
    "стал",
    "дело",
    "дела",
    "день",
    "дня",
    "в",
    "на",
    "с",
    "со",
    "что",
    "чего",
    "жест",
    "жеста",
    "жестом",
    "доброй",
    "добрый",
    "воли",
    "воля",
    "волей",
    "войск",
    "войска",
    "армия",
    "армии",
]


def reference_find(rules: list[TermRule], words: list[str]) -> set[tuple[int, int]]:
    """(term_id, first word) of every phrase occurrence, with lemmas straight from pymorphy3."""

    def lemmas(word: str) -> set[str]:
        return set(morph.lemmas("ru", normalize_word(word)))

    found = set()
    for rule in rules:
        term = [lemmas(w) for w in rule.text.split()]
        for start in range(len(words) - len(term) + 1):
            if all(term[k] & lemmas(words[start + k]) for k in range(len(term))):
                found.add((rule.term_id, start))
    return found


@pytest.mark.parametrize("seed", range(5))
def test_lemma_phrases_agree_with_a_reference_matcher(seed: int) -> None:
    rng = random.Random(seed)
    rules = [
        TermRule(n, 1, " ".join(rng.choices(VOCABULARY, k=rng.randint(1, 3)))) for n in range(60)
    ]
    words = ["это", *rng.choices(VOCABULARY, k=300)]  # э: a Russian post
    text = " ".join(words)
    starts = {sum(len(w) + 1 for w in words[:i]): i for i in range(len(words))}
    found = {(h.term_id, starts[h.start]) for h in compile_matcher(rules).find(text)}
    assert found == reference_find(rules, words)
    assert found  # the test means something only if terms occur


def test_automaton_and_trie_walk_find_the_same_occurrences() -> None:
    rng = random.Random(7)
    rules = [(n, 1, " ".join(rng.choices(VOCABULARY, k=rng.randint(1, 3)))) for n in range(80)]
    engine = Engine(rules)
    text = "это " + " ".join(rng.choices(VOCABULARY, k=400))
    analysis = engine.analyse(text)
    search = engine._searches[analysis.mode]
    classes = engine.word_classes(analysis.words, analysis.mode)
    walked = search.walk(classes)
    assert sorted(analysis.occurrences) == sorted(walked)
    assert len(walked) > 50


def test_find_from_many_threads_gives_the_same_hits() -> None:
    rng = random.Random(3)
    rules = [TermRule(n, n % 3, " ".join(rng.choices(VOCABULARY, k=2))) for n in range(100)]
    texts = ["это " + " ".join(rng.choices(VOCABULARY, k=80)) for _ in range(40)]
    reference = [compile_matcher(rules).find(text) for text in texts]
    shared = compile_matcher(rules)  # its word memo starts empty and fills from all threads
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            assert list(pool.map(shared.find, texts)) == reference
    assert any(reference)


def test_terms_in_every_language_match_only_their_language() -> None:
    rules = [
        TermRule(1, 1, "жест доброй воли"),
        TermRule(2, 1, "жест доброї волі"),
        TermRule(3, 1, "gesture of goodwill"),
    ]
    matcher = compile_matcher(rules)
    assert {h.term_id for h in matcher.find("Отход стал жестом доброй воли.")} == {1}
    assert {h.term_id for h in matcher.find("Відступ став жестом доброї волі.")} == {2}
    assert {h.term_id for h in matcher.find("It was a gesture of goodwill.")} == {3}


def test_a_word_several_term_words_accept_matches_each() -> None:
    rules = [TermRule(1, 1, "этот"), TermRule(2, 1, "это"), TermRule(3, 1, '"это"')]
    assert compile_matcher(rules).find("Это ясно.") == [
        Hit(1, 1, 0, 3),
        Hit(2, 1, 0, 3),
        Hit(3, 1, 0, 3),
    ]


def test_explain_a_match_lists_words_and_lemmas() -> None:
    [result] = explain("Это было жестом доброй воли.", [TermRule(5, 2, "жест доброй воли")])
    assert result.matched and result.span == (9, 27)
    assert result.found == (
        FoundWord("жестом", "жестом", ("жест",), "жест"),
        FoundWord("доброй", "доброй", ("добрый",), "доброй"),
        FoundWord("воли", "воли", ("воля",), "воли"),
    )
    assert result.closest_miss is None


@pytest.mark.parametrize(
    ("term", "miss"),
    [
        ('"жест доброй воли"', "found 'доброй воли' but not 'жест' within the phrase"),
        ("жест злой воли", "found 'жестом' but not 'злой воли' within the phrase"),
        ("жест AND NOT бегство", "found 'жестом'; excluded by NOT 'бегство'"),
        ("жест AND поражение", "found 'жестом'; not 'поражение'"),
        (
            "NEAR/1(жест, бегство)",
            "found 'жестом', 'бегством'; 'жест' and 'бегство' are 3 words apart (NEAR/1 allows 1)",
        ),
        ("tactical feint", None),
        ("re:\\d+", None),
    ],
)
def test_explain_a_miss(term: str, miss: str | None) -> None:
    [result] = explain("Это было жестом доброй воли, не бегством.", [TermRule(1, 1, term)])
    assert not result.matched and result.found == () and result.span is None
    assert result.closest_miss == miss


def test_explain_keeps_the_order_of_rules_and_handles_regex_and_bad_terms() -> None:
    rules = [TermRule(3, 1, "re:добр\\pL+"), TermRule(1, 1, "жест AND"), TermRule(2, 1, "воли")]
    results = explain("Жест доброй воли.", rules)
    assert [(r.term_id, r.matched) for r in results] == [(3, True), (1, False), (2, True)]
    assert [w.word for w in results[0].found] == ["доброй"]
    assert results[1].closest_miss is None


def test_several_regex_terms_on_a_post_none_of_them_matches() -> None:
    """google-re2's Set.Match returns None, not [], when nothing matches."""
    from bot.rules import TermRule, compile_matcher

    matcher = compile_matcher(
        [TermRule(1, 1, r"re:[0-9]{4} год[а-я]*"), TermRule(2, 1, "re:ukrain")]
    )
    assert matcher.find("Погода сегодня хорошая.") == []
    hits = matcher.find("В 2022 году. Ukraine.")
    assert sorted(h.term_id for h in hits) == [1, 2]
