"""The C hot loops (bot/rules/_scan.c) against their Python references (bot/rules/scanner.py).

Every function of the extension must give exactly what its reference gives: on crafted
texts (scripts, marks, joiners, emoji, long words), on thousands of random strings, on the
quality set and, when ../shared/data is present, on real channel posts. Then the whole
matcher, accelerated and pure Python, must find the same hits for terms of every kind.
"""

from __future__ import annotations

import gc
import json
import os
import random
import shutil
import tomllib
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.rules import Hit, TermRule, compile_matcher, normalize_word, scanner
from bot.rules import engine as engine_module
from bot.rules import matcher as matcher_module
from bot.rules import resolve as resolve_module
from bot.rules.normalize import cyrillic_language
from bot.rules.scanner import (
    char_table,
    python_as_hits,
    python_collect,
    python_scan,
    python_walk,
    word_spans,
)
from bot.rules.search import build_searches

from .conftest import SHARED_DATA

REAL_POSTS = SHARED_DATA / "posts" / "nktkln_ru_news_channels"
QUALITY = Path(__file__).parent / "fixtures" / "rules_quality.toml"

pytestmark = pytest.mark.skipif(
    not scanner.ACCELERATED, reason="the C extension bot.rules._scan is not built"
)

CRAFTED = [
    "",
    " ",
    "Жест доброй воли, а не «отступление»!",
    "пам’ять і пам'ять та памʼять; ґанок Ґанок",
    "во́ли e\u0301 \u0301начало",  # marks: continue a word, never start one
    "до\u200bбрый до\u00adбрый\u200b \u200bслово",  # zero-width inside and around
    "don't 'quoted' it''s ''",  # apostrophes only between letters
    "жеcт BОЙНА NАTO",  # look-alike letters (left to Python)
    "ＷＡＲ ① ²³ 𝔸𝔹 😀слово😀 a😀b",  # compatibility forms, non-BMP letters and emoji
    "snake_case __bold__ x_y",  # the underscore separates words
    "ёлка ЁЛКА Ёж ЪЫЭ ЇЖАК їжак Єдність",
    "covid19 2024 Ту154 т.е. т.к.",
    "a" * 70 + " " + "я" * 70,  # words longer than the C fast path takes
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


def real_posts(limit: int = 3000) -> list[str]:
    posts: list[str] = []
    for path in sorted(REAL_POSTS.glob("*_messages.json")):
        posts += [m["text"] for m in json.loads(path.read_text()) if m.get("text")]
    return posts[:limit]


def needs_real_posts() -> list[str]:
    if not REAL_POSTS.is_dir():
        pytest.skip(f"real posts not present at {REAL_POSTS}")
    return real_posts()


def all_texts() -> list[str]:
    return [*CRAFTED, *quality_texts(), *random_texts(20_000, seed=11)]


def c_module() -> Any:
    from bot.rules import _scan  # type: ignore[attr-defined]

    return _scan


# ----------------------------------------------------------------------------- scan()


def test_the_extension_is_built_where_a_compiler_is() -> None:
    # optional=True lets `pip install` succeed without a compiler; with one, a failed build
    # would silently make every rescan several times slower.
    if os.environ.get("FRAMEWATCH_PURE_PYTHON") == "1" or not shutil.which("cc"):
        pytest.skip("no C compiler here, or pure Python asked for")
    assert scanner.ACCELERATED
    assert scanner.scan is scanner.c_scan


def test_scan_splits_like_the_word_regex() -> None:
    table, memo = char_table(), {"жест": "A", "слово": "B", "don't": "C", "a😀b": "D"}
    for text in all_texts():
        assert c_module().scan(text, table, memo, None) == python_scan(text, table, memo), text


def test_scan_of_real_posts_is_the_same() -> None:
    table, memo = char_table(), {}
    posts = needs_real_posts()
    for text in posts[:500]:
        memo.update(dict.fromkeys(python_scan(text, table, {})[0], "x"))
    for text in posts:
        assert c_module().scan(text, table, memo, None) == python_scan(text, table, memo)


def test_scan_gives_words_spans_and_joined_groups() -> None:
    text = "Это жест, доброй воли"
    words, groups, spans, tokens = c_module().scan(text, char_table(), {"жест": "ab"}, None)
    assert words == ["Это", "жест", "доброй", "воли"]
    assert groups == [None, "ab", None, None]
    assert tokens is None  # a word is missing
    bounds = word_spans(spans)
    assert [text[bounds[2 * i] : bounds[2 * i + 1]] for i in range(4)] == words
    memo = dict.fromkeys(words, "z")
    assert c_module().scan(text, char_table(), memo, None)[3] == "zzzz"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        pytest.param((b"text", None, {}, None), TypeError, id="text-not-str"),
        pytest.param(("text", b"short", {}, None), ValueError, id="bad-table"),
        pytest.param(("text", None, [], None), TypeError, id="memo-not-dict"),
        pytest.param(("text", None, {"text": 1}, None), TypeError, id="memo-value-not-str"),
        pytest.param(("text", None, {}, ("wrong",)), TypeError, id="bad-resolver"),
    ],
)
def test_scan_refuses_bad_arguments(args: tuple[Any, ...], error: type[Exception]) -> None:
    table = char_table()
    args = tuple(table if a is None and i == 1 else a for i, a in enumerate(args))
    with pytest.raises(error):
        c_module().scan(*args)


# ---------------------------------------------------------------- language(), walk()


def test_language_is_cyrillic_language() -> None:
    texts = [*all_texts(), "ы" * 3 + "і" * 3, "і", "а" * 19, "а" * 20, "Ї" + "a" * 30]
    for text in texts:
        assert c_module().language(text) == cyrillic_language(text), text


def test_walk_collect_and_as_hits_agree() -> None:
    rules = [
        TermRule(1, 1, "жест доброй воли"),
        TermRule(2, 2, "доброй воли"),
        TermRule(3, 2, "воли"),
        TermRule(4, 3, "воли AND NOT жест"),  # its phrase is tracked
        TermRule(5, 3, "в"),
        TermRule(6, 1, "стали"),  # a word of several classes: some phrases need checks
        TermRule(7, 1, "сталь"),
        TermRule(8, 2, "стали лучше"),
        TermRule(9, 2, "NEAR/2(стать, лучше)"),
    ]
    engine = compile_matcher(rules).engine  # type: ignore[attr-defined]
    text = "Это был жест доброй воли, в знак доброй воли. Воли! Стали лучше, сталь стала."
    words, spans, mode, groups, _ = engine._words(text)
    search = engine._searches[mode]
    memo, fallback = engine._resolved.classes[mode], engine._resolved.classes_getters[mode]
    results = []
    for walk in (c_module().walk, python_walk):
        hits: list[tuple[int, int, int, int]] = []
        tracked, may_repeat = walk(groups, search.codes, spans, hits, words, memo, fallback)
        results.append((sorted(hits), sorted(tracked), may_repeat))
    assert results[0] == results[1]
    # The pure-Python find() path: an automaton over the joined codes, then python_collect.
    automaton = build_searches(
        engine.vocabulary, engine.patterns, engine._match_payload, automaton=True
    )[mode].automaton
    hits = []
    tracked, may_repeat = python_collect(
        automaton.iter("".join(groups)), spans, search.width, hits, words, memo, fallback
    )
    assert (sorted(hits), sorted(tracked), may_repeat) == results[0]
    hits, tracked, _ = results[0]
    assert {hit[1] for hit in hits} >= {1, 2, 3, 5, 6, 7, 8}
    assert tracked  # the phrases of the AND NOT and NEAR terms
    # Checks read the class memo, and the fallback when the memo lacks a word.
    memo.clear()
    again: list[tuple[int, int, int, int]] = []
    c_module().walk(groups, search.codes, spans, again, words, memo, fallback)
    assert sorted(again) == hits
    converted = c_module().as_hits(hits, Hit)
    assert converted == python_as_hits(hits, Hit)
    assert all(type(hit) is Hit for hit in converted)
    assert converted[0].term_id == hits[0][1]


def test_walk_refuses_bad_tries() -> None:
    spans = (0).to_bytes(4, "little") * 2

    def walk(codes: Any, groups: Any = None) -> Any:
        return c_module().walk(groups or ["a"], codes, spans, [], ["x"], {}, str)

    with pytest.raises(TypeError):
        walk({"a": "not an entry"})
    with pytest.raises(TypeError):
        walk({"a": ("not a dict", None)})
    with pytest.raises(TypeError):
        walk({"a": (None, ("not", "a", "value"))})
    with pytest.raises(ValueError, match="disagree"):
        walk({}, groups=["a", "b"])
    with pytest.raises(TypeError):
        c_module().as_hits([(1, 2)], Hit)
    assert walk({"b": (None, None)}) == ([], False)


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
]


def pure_python_matcher(monkeypatch: pytest.MonkeyPatch, rules: list[TermRule]) -> Any:
    """A matcher compiled and run with every Python reference instead of the extension."""
    monkeypatch.setattr(engine_module, "scan", python_scan)
    monkeypatch.setattr(engine_module, "c_walk", None)
    monkeypatch.setattr(engine_module, "post_language", cyrillic_language)
    monkeypatch.setattr(matcher_module, "as_hits", python_as_hits)
    monkeypatch.setattr(resolve_module, "ACCELERATED", False)
    return compile_matcher(rules)


def compare(monkeypatch: pytest.MonkeyPatch, terms: list[str], texts: list[str]) -> int:
    rules = [TermRule(n, n % 4, term) for n, term in enumerate(terms)]
    fast = compile_matcher(rules)
    with monkeypatch.context() as patch:
        slow = pure_python_matcher(patch, rules)
        expected = [slow.find(text) for text in texts]
    found = [fast.find(text) for text in texts]
    for text, want, got in zip(texts, expected, found, strict=True):
        assert got == want, text
    # A second pass reads the words the first one resolved (the memo) and must agree too.
    assert [fast.find(text) for text in texts] == expected
    return sum(map(len, found))


def test_accelerated_and_pure_python_matchers_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [*CRAFTED, *quality_texts(), *random_texts(3000, seed=5)]
    texts += [
        "Жест доброй воли: рашистами и рашистов, отступили, отступление. NATO and nato.",
        "Київ: жест доброї волі і жеста доброї волі, COVID19 у 2024 році.",
        "так называемый киевский режим; киевский режим! СВО. t.me/channel/1",
        "Goodwill gestures: a special military operation, organised withdrawals.",
    ]
    assert compare(monkeypatch, TERMS, texts) > 100


def test_accelerated_and_pure_python_agree_on_real_posts(monkeypatch: pytest.MonkeyPatch) -> None:
    posts = needs_real_posts()
    rng = random.Random(2)
    # Terms made of the posts' own words, so that very many of them occur.
    words = [w for text in posts[:300] for w in python_scan(text, char_table(), {})[0]]
    terms = TERMS + [" ".join(rng.sample(words, rng.randint(1, 2))) for _ in range(300)]
    assert compare(monkeypatch, terms, posts[:1500]) > 1000


def test_resolved_words_match_python_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    """The C resolver's memo entries are what ResolvedWords.fill() gives for the same words."""
    rules = [TermRule(n, 1, term) for n, term in enumerate(TERMS)]
    texts = [*CRAFTED, *quality_texts(), *random_texts(2000, seed=8)]
    fast = compile_matcher(rules).engine  # type: ignore[attr-defined]
    with monkeypatch.context() as patch:
        slow = pure_python_matcher(patch, rules).engine
        for text in texts:
            slow.find(text)
    for text in texts:
        fast.find(text)
    checked = 0
    for mode, memo in fast._resolved.groups.items():
        for word, group in memo.items():
            if word in slow._resolved.groups[mode]:
                assert group == slow._resolved.groups[mode][word], (mode, word)
                fast_classes = fast._resolved.classes[mode].get(word)
                assert fast_classes == slow._resolved.classes[mode].get(word), (mode, word)
                checked += 1
    assert checked > 500
    # Plain words are resolved in C: their normalisation there must be normalize_word's.
    assert normalize_word("ЁЛКА") == "елка"


def test_the_extension_leaks_no_memory() -> None:
    """Every reference the C code takes is given back, on success and on errors."""
    rules = [
        TermRule(1, 1, "жест доброй воли"),
        TermRule(2, 1, "стали лучше"),
        TermRule(3, 2, "NEAR/2(стать, лучше)"),
        TermRule(4, 2, "воли AND NOT жест"),
    ]
    matcher = compile_matcher(rules)
    texts = ["Был жест доброй воли. Воли! Стали лучше, сталь стала.", "Жест доброї волі", "Ёлка"]

    def run(times: int) -> None:
        for _ in range(times):
            for text in texts:
                matcher.find(text)
            with pytest.raises(TypeError):
                c_module().scan(b"bytes", char_table(), {}, None)
            with pytest.raises(TypeError):
                c_module().walk(["a"], {"a": "bad"}, b"\0" * 8, [], ["a"], {}, str)

    run(100)  # fills the word memo
    tracemalloc.start()
    try:
        run(100)
        gc.collect()  # pytest.raises keeps tracebacks in cycles
        before = tracemalloc.get_traced_memory()[0]
        run(1000)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 20_000, f"{grown} bytes more after 1,000 more rounds"
