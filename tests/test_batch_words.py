"""The bulk form of the word rule (bot/rules/batch_words.py) and of the word memo
(batch_codes.py): a batch's words, languages and hits are exactly those of the per-post path,
on crafted, random and real texts, in batches of every size, with the memo warm, cold, reset
and with hashes forced to clash."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bot.rules import TermRule, batch_codes, batch_words, compile_matcher
from bot.rules.batch_codes import KeyTable
from bot.rules.batch_words import split_batch
from bot.rules.normalize import cyrillic_language
from bot.rules.scanner import split_words

from .test_scanner import CRAFTED, TERMS, needs_real_posts, quality_texts, random_texts, rules_of

HOSTILE = [
    "\ud800слово\udfff",  # lone surrogates (imported JSON can hold them)
    "\U0001d165a\U0001d165 b\u0301\u0301\u200b'c",  # a mark outside the BMP; runs of marks
    "'\u0301a a'\u0301 a'' ''a a\u200b\u200b",  # joiner and mark runs at both ends
    "ʼʼaʼʼbʼʼ _a_ a_",
    "\u0301",
    "a",
]


def texts_of_every_kind() -> list[str]:
    return [*CRAFTED, *HOSTILE, *quality_texts(), *random_texts(5000, seed=21)]


def batches(texts: list[str], seed: int) -> list[list[str]]:
    """texts cut into batches of random sizes, 1 to 400."""
    rng = random.Random(seed)
    out, at = [], 0
    while at < len(texts):
        size = rng.randint(1, 400)
        out.append(texts[at : at + size])
        at += size
    return out


def assert_words_as_the_regex(texts: list[str]) -> None:
    for batch in batches(texts, seed=len(texts)):
        words = split_batch(batch)
        for i, text in enumerate(batch):
            expected = split_words(text)
            assert words.bounds(i) == expected.bounds[: 2 * len(expected.words)], text
            assert words.count(i) == len(expected.words), text
            assert words.languages()[i] == cyrillic_language(text), text


def test_words_and_languages_are_the_per_post_ones() -> None:
    assert_words_as_the_regex(texts_of_every_kind())


def test_words_of_real_posts_are_the_per_post_ones() -> None:
    assert_words_as_the_regex(needs_real_posts(3000))


def test_equal_words_hash_equal_and_other_words_differently() -> None:
    words = split_batch(["жест воли жест", "воли Жест жест"])
    keys = words.keys.tolist()
    assert keys[0] == keys[2] == keys[5] != keys[4]
    assert keys[1] == keys[3]
    assert len(set(keys)) == 3
    assert words.checks.tolist()[0] == words.checks.tolist()[2]


def test_an_empty_batch_and_texts_without_words() -> None:
    words = split_batch(["", "«» — …", ""])
    assert [words.count(i) for i in range(3)] == [0, 0, 0]
    matcher = compile_matcher(rules_of(TERMS))
    assert matcher.find_many([]) == []
    assert matcher.find_many(["", "«»"]) == [[], []]


def hits_every_way(terms: list[str], texts: list[str]) -> None:
    matcher = compile_matcher(rules_of(terms))
    expected = [matcher.find(text) for text in texts]
    assert sum(map(len, expected)) > 50
    bulk = compile_matcher(rules_of(terms))
    for _ in range(2):  # a cold memo, then a warm one
        found = [hit for batch in batches(texts, seed=3) for hit in bulk.find_many(batch)]
        assert found == expected


def test_find_many_gives_find_s_hits() -> None:
    hits_every_way(TERMS, texts_of_every_kind())


def test_find_many_gives_find_s_hits_on_real_posts() -> None:
    posts = needs_real_posts()
    rng = random.Random(4)
    words = [w for text in posts[:300] for w in split_words(text).words]
    terms = TERMS + [" ".join(rng.sample(words, rng.randint(1, 2))) for _ in range(300)]
    hits_every_way(terms, posts)


def test_find_many_with_regex_terms_only_and_no_terms() -> None:
    texts = [*CRAFTED, "Жест доброй воли 2024"]
    for terms in (["/жест\\w*/"], []):
        matcher = compile_matcher(rules_of(terms))
        assert matcher.find_many(texts) == [matcher.find(text) for text in texts]


def test_a_memo_reset_between_batches_changes_no_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_codes, "LIMIT", 10)  # every batch starts afresh
    hits_every_way(TERMS, texts_of_every_kind()[:3000])


def test_clashing_hashes_fall_back_to_the_per_post_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Words whose 64-bit keys are equal but whose checks differ: their texts are matched
    by find(), never given another word's code."""
    real = batch_words._hashes

    def clashing(points: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple:
        keys, checks, oversized = real(points, starts, ends)
        return keys % np.uint64(3), checks, oversized  # three keys for every word there is

    monkeypatch.setattr(batch_words, "_hashes", clashing)
    hits_every_way(TERMS, texts_of_every_kind()[:2000])


def test_the_key_table_finds_what_it_stored_and_tells_clashes() -> None:
    rng = np.random.default_rng(5)
    keys = np.unique(rng.integers(1, 2**63, size=50_000, dtype=np.int64).astype(np.uint64))
    checks = keys * np.uint64(3)
    table = KeyTable(bits=4)  # grows many times
    half = len(keys) // 2
    table.add(keys[:half], checks[:half], np.arange(half, dtype=np.int32))
    table.add(keys[half:], checks[half:], np.arange(half, len(keys), dtype=np.int32))
    assert table.count == len(keys)
    assert (table.find(keys, checks) == np.arange(len(keys))).all()
    absent = keys[:100] + np.uint64(1)
    assert (table.find(absent, absent) == -1).sum() >= 99  # +1 may hit a stored key
    assert (table.find(keys[:100], checks[:100] + np.uint64(1)) == -2).all()


def test_hostile_texts_are_matched_like_any() -> None:
    matcher = compile_matcher([TermRule(1, 1, "жест доброй воли"), TermRule(2, 1, "слово")])
    texts = [*HOSTILE, "жест\u0301 доб\u200bрой во́ли", "x" * 100_000, "слово " * 20_000]
    texts += ["слово " + "я" * 5000 + "б", "слово " + "я" * 4095 + "бя" * 1000]
    assert matcher.find_many(texts) == [matcher.find(text) for text in texts]
