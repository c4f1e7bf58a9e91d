"""The one word scanner (bot/rules/scanner.py) and the word memo it reads (resolve.py).

Words are the word regex's matches, with exact bounds, on crafted texts (scripts, marks,
joiners, emoji, long words), random strings and the quality set; the matcher finds the same
hits whether a post's words are new, remembered, or forgotten between posts; and the memo's
fast resolution gives what the vocabulary gives for each word.
"""

from __future__ import annotations

import json
import random
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.rules import Hit, TermRule, compile_matcher, scanner
from bot.rules import resolve as resolve_module
from bot.rules.engine import Engine
from bot.rules.normalize import word_pattern
from bot.rules.scanner import as_hits, joined_codes, split_words

from .conftest import SHARED_DATA

REAL_POSTS = SHARED_DATA / "posts" / "nktkln_ru_news_channels"
QUALITY = Path(__file__).parent / "fixtures" / "rules_quality.toml"

CRAFTED = [
    "",
    " ",
    "Жест доброй воли, а не «отступление»!",
    "пам’ять і пам'ять та памʼять; ґанок Ґанок",
    "во́ли e\u0301 \u0301начало",  # marks: continue a word, never start one
    "до\u200bбрый до\u00adбрый\u200b \u200bслово",  # zero-width inside and around
    "don't 'quoted' it''s ''",  # apostrophes only between letters
    "жеcт BОЙНА NАTO",  # look-alike letters
    "ＷＡＲ ① ²³ 𝔸𝔹 😀слово😀 a😀b",  # compatibility forms, non-BMP letters and emoji
    "snake_case __bold__ x_y",  # the underscore separates words
    "ёлка ЁЛКА Ёж ЪЫЭ ЇЖАК їжак Єдність",
    "covid19 2024 Ту154 т.е. т.к.",
    "a" * 70 + " " + "я" * 70,  # long words
    "\n\n\t слово\r\nслово\u2028слово",
]


def random_texts(count: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    alphabet = "aбвгґіїєёыэъAБЁЇ1_ ʼ'’`\u200b\u200c\u00ad\u0301\u0308\u0483.,-é𝔸😀\n" + "ЖжWwΩωا"
    for _ in range(count):
        yield "".join(rng.choice(alphabet) for _ in range(rng.randrange(16)))


def quality_texts() -> list[str]:
    data = tomllib.loads(QUALITY.read_text(encoding="utf-8"))
    return [item["text"] for key in ("case", "post") for item in data[key]]


def needs_real_posts(limit: int = 1500) -> list[str]:
    if not REAL_POSTS.is_dir():
        pytest.skip(f"real posts not present at {REAL_POSTS}")
    posts: list[str] = []
    for path in sorted(REAL_POSTS.glob("*_messages.json")):
        posts += [m["text"] for m in json.loads(path.read_text()) if m.get("text")]
    return posts[:limit]


# ----------------------------------------------------------------------------- words


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Это жест, доброй воли", ["Это", "жест", "доброй", "воли"]),
        ("во́ли e\u0301 \u0301начало", ["во́ли", "e\u0301", "начало"]),
        ("до\u200bбрый до\u00adбрый\u200b \u200bслово", ["до\u200bбрый", "до\u00adбрый", "слово"]),
        ("don't 'quoted' it''s ''", ["don't", "quoted", "it''s"]),
        ("пам’ять і памʼять", ["пам’ять", "і", "памʼять"]),
        ("ＷＡＲ ① 𝔸𝔹 😀слово😀 a😀b", ["ＷＡＲ", "①", "𝔸𝔹", "слово", "a", "b"]),
        ("snake_case __bold__", ["snake", "case", "bold"]),
        ("covid19 Ту154 т.е.", ["covid19", "Ту154", "т", "е"]),
        ("a" * 300 + "-" + "я" * 300, ["a" * 300, "я" * 300]),
        ("", []),
        ("«» — …", []),
    ],
)
def test_split_words_finds_the_words(text: str, words: list[str]) -> None:
    assert split_words(text).words == words


def test_words_are_the_word_regex_matches_with_their_bounds() -> None:
    texts = [*CRAFTED, *quality_texts(), *random_texts(20_000, seed=11)]
    for text in texts:
        words, bounds = split_words(text)
        matches = list(word_pattern().finditer(text))
        assert words == [match.group() for match in matches], text
        spans = [(bounds[2 * i], bounds[2 * i + 1]) for i in range(len(words))]
        assert spans == [match.span() for match in matches], text


def test_joined_codes_need_every_word_in_the_memo() -> None:
    words = split_words("Это жест доброй воли").words
    assert joined_codes(words, {"жест": "ab"}) is None
    assert joined_codes(words, dict.fromkeys(words, "z")) == "zzzz"
    assert joined_codes([], {}) == ""


def test_as_hits_reorders_raw_hits_into_hits() -> None:
    hits = as_hits([(3, 10, 20, 9), (5, 11, 21, 7)], Hit)
    assert hits == [Hit(10, 20, 3, 9), Hit(11, 21, 5, 7)]
    assert all(type(hit) is Hit for hit in hits)
    assert hits[0].term_id == 10 and hits[0].start == 3


def test_the_scanner_runs_from_its_source() -> None:
    # Nothing compiles bot/rules/scanner.py at install; the start-up log says which one runs.
    assert scanner.KIND == "interpreted"
    assert scanner.__file__.endswith("scanner.py")


# ------------------------------------------------------------------ the whole matcher


TERMS = [
    "жест доброй воли",
    "жест доброї волі",
    "организованный отход",
    "перегруппировка войск",
    '"жестом доброй воли"',
    "отступ*",
    "рашист",  # not in the dictionary: guessed lemmas
    "киевский режим AND NOT так называемый",
    "NEAR/3(отход, войск)",
    "денацификация OR демилитаризация",
    "goodwill gesture",
    "special military operation",
    "nato",
    "re:\\bСВО\\b",
    "в",
    "и в",
    "на",
    "это",
    "2024",
    "covid19",
    "t me",
    "стали",  # a word of several classes: its phrases need checks
    "сталь",
    "стали лучше",
    "NEAR/2(стать, лучше)",
    "воли AND NOT жест",
]
TEXTS = [
    "Жест доброй воли: рашистами и рашистов, отступили, отступление. NATO and nato.",
    "Київ: жест доброї волі і жеста доброї волі, COVID19 у 2024 році.",
    "так называемый киевский режим; киевский режим! СВО. t.me/channel/1",
    "Goodwill gestures: a special military operation, organised withdrawals.",
    "Это был жест доброй воли, в знак доброй воли. Воли! Стали лучше, сталь стала.",
    "Организованный отход и перегруппировка войск: отход наших войск.",
]


def rules_of(terms: list[str]) -> list[TermRule]:
    return [TermRule(n, n % 4, term) for n, term in enumerate(terms)]


def engine_of(terms: list[str]) -> Engine:
    return Engine((rule.term_id, rule.framing_id, rule.text) for rule in rules_of(terms))


def two_pass_hits(engine: Engine, text: str) -> list[tuple[int, int, int, int]]:
    """find() from analyse(): the occurrences first, then their hits (explain's path)."""
    hits: list[tuple[int, int, int, int]] = []
    engine._phrase_hits(engine.analyse(text), hits)
    for index, spans in engine._regexes.spans(text) if engine._regexes else ():
        for term_id, framing_id in engine._regex_owners[index]:
            hits.extend((start, term_id, framing_id, end) for start, end in spans)
    return sorted(set(hits))


def test_hits_are_found_in_one_pass_as_in_two() -> None:
    texts = [*TEXTS, *CRAFTED, *quality_texts(), *random_texts(2000, seed=5)]
    engine, other = engine_of(TERMS), engine_of(TERMS)
    found = 0
    for text in texts:
        hits = engine.find(text)
        assert hits == two_pass_hits(other, text), text
        assert hits == engine.find(text), text  # the words are remembered now
        found += len(hits)
    assert found > 100


def test_checked_and_tracked_phrases_give_their_hits() -> None:
    text = TEXTS[4]
    hits = compile_matcher(rules_of(TERMS)).find(text)
    found = {(TERMS[hit.term_id], text[hit.start : hit.end]) for hit in hits}
    assert ("стали", "Стали") in found
    assert ("сталь", "сталь") in found
    assert ("стали лучше", "Стали лучше") in found
    assert ("NEAR/2(стать, лучше)", "Стали") in found
    assert ("жест доброй воли", "жест доброй воли") in found
    assert not any(term == "воли AND NOT жест" for term, _ in found)  # жест is there
    alone = compile_matcher(rules_of(TERMS)).find("Воли!")
    assert [TERMS[hit.term_id] for hit in alone] == ["воли AND NOT жест"]


def test_a_memo_cleared_between_posts_changes_no_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [*TEXTS, *quality_texts(), *random_texts(200, seed=3)]
    expected = [compile_matcher(rules_of(TERMS)).find(text) for text in texts]
    monkeypatch.setattr(resolve_module, "RESOLVED_LIMIT", 0)  # every post starts afresh
    matcher = compile_matcher(rules_of(TERMS))
    assert [matcher.find(text) for text in texts] == expected
    # Checks read the class memo, else resolve the word again.
    engine = engine_of(TERMS)
    first = engine.find(TEXTS[4])
    for classes in engine._resolved.classes.values():
        classes.clear()
    assert engine.find(TEXTS[4]) == first


def test_remembered_words_have_the_vocabularys_value() -> None:
    """The memo's fast resolution (dictionary forms, no-term words) and its slow one
    (Vocabulary.post_symbols) give each word what the vocabulary gives it."""
    engine = engine_of(TERMS)
    for text in [*TEXTS, *CRAFTED, *quality_texts(), *random_texts(2000, seed=8)]:
        engine.find(text)
    checked = 0
    for mode, memo in engine._resolved.groups.items():
        group_value = engine._searches[mode].group_value
        for word, group in memo.items():
            classes = engine.vocabulary.resolve(word, mode)
            assert group == group_value(classes), (mode, word)
            assert engine.word_classes([word], mode) == [classes], (mode, word)
            checked += 1
    assert checked > 500


def test_real_posts_give_the_same_hits_fresh_and_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    posts = needs_real_posts()
    rng = random.Random(2)
    # Terms made of the posts' own words, so that very many of them occur.
    words = [w for text in posts[:300] for w in split_words(text).words]
    terms = TERMS + [" ".join(rng.sample(words, rng.randint(1, 2))) for _ in range(300)]
    matcher = compile_matcher(rules_of(terms))
    first = [matcher.find(text) for text in posts]
    assert [matcher.find(text) for text in posts] == first
    engine = engine_of(terms)
    assert [as_hits(two_pass_hits(engine, text), Hit) for text in posts[:300]] == first[:300]
    assert sum(map(len, first)) > 1000
