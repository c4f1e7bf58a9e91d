"""Lemmas of Russian and Ukrainian words (pymorphy3) and stems of English ones (Snowball).

The analysers and the caches below are process-wide module state on purpose: they hold no
application state, only immutable dictionaries and pure function results, and loading or
recomputing them per matcher would cost seconds. Each analyser is created once, lazily, under
a lock; pymorphy3 and the Snowball stemmer are not documented as thread-safe, so every call
into them holds the same lock (the results are cached, so the lock is rarely taken).

All words passed in and all strings returned are in normalised form (bot.rules.normalize:
case-folded, ё→е, ґ→г, one apostrophe), so forms and lemmas compare directly with post words.
pymorphy3 finds ё and ґ words from е and г spellings by itself (its char substitutes).
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any

LANGUAGES = ("ru", "uk")

_LOCK = threading.RLock()
_analyzers: dict[str, Any] = {}
_stemmers: list[Any] = []


def analyzer(lang: str) -> Any:
    """The pymorphy3 MorphAnalyzer for "ru" or "uk", created on first use."""
    found = _analyzers.get(lang)
    if found is None:
        with _LOCK:
            found = _analyzers.get(lang)
            if found is None:
                import pymorphy3  # loading the dictionaries takes ~0.2 s

                found = _analyzers[lang] = pymorphy3.MorphAnalyzer(lang=lang)
    return found


def _normal(word: str) -> str:
    return word.replace("ё", "е").replace("ґ", "г").replace("’", "'")


@functools.lru_cache(maxsize=65536)
def paradigms(lang: str, word: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every dictionary reading of word: (lemma, all forms of that lemma's paradigm).

    Empty when the word is not in the dictionary. This reads pymorphy3's dictionary the way
    its DictionaryAnalyzer and lexeme do, without building tags or Parse objects, which makes
    it about ten times faster than parse() plus lexeme; a test checks it against the public
    API.
    """
    morph = analyzer(lang)
    dictionary = morph.dictionary
    with _LOCK:
        found = dictionary.words.similar_items(word, morph.char_substitutes)
    readings: dict[str, set[str]] = {}
    for fixed_word, parses in found:
        for para_id, index in parses:
            lemma = _normal(dictionary.build_normal_form(para_id, index, fixed_word))
            readings.setdefault(lemma, set()).update(_forms(dictionary, para_id, index, fixed_word))
    return tuple((lemma, tuple(sorted(forms))) for lemma, forms in sorted(readings.items()))


def _forms(dictionary: Any, para_id: int, index: int, fixed_word: str) -> set[str]:
    paradigm = dictionary.paradigms[para_id]
    size = len(paradigm) // 3
    stem = dictionary.build_stem(paradigm, index, fixed_word)
    prefixes = dictionary.paradigm_prefixes
    suffixes = dictionary.suffixes
    return {
        _normal(prefixes[paradigm[2 * size + k]] + stem + suffixes[paradigm[k]])
        for k in range(size)
    }


def is_known(lang: str, word: str) -> bool:
    """Whether the dictionary has the word (ё and ґ spelt or not)."""
    morph = analyzer(lang)
    with _LOCK:
        return bool(morph.dictionary.words.similar_keys(word, morph.char_substitutes))


@functools.lru_cache(maxsize=65536)
def predicted_lemmas(lang: str, word: str) -> tuple[str, ...]:
    """Lemmas pymorphy3 guesses for a word its dictionary does not know; () for known words."""
    if is_known(lang, word):
        return ()
    morph = analyzer(lang)
    with _LOCK:
        normal_forms = morph.normal_forms(word)
    return tuple(sorted({_normal(lemma) for lemma in normal_forms})) or (word,)


def lemmas(lang: str, word: str) -> tuple[str, ...]:
    """All lemmas of a word: its dictionary readings, else pymorphy3's guesses."""
    known = paradigms(lang, word)
    if known:
        return tuple(lemma for lemma, _forms in known)
    return predicted_lemmas(lang, word)


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The English Snowball (Porter2) stem of a word, British spellings read as American.

    Snowball stems "organised" and "organized" differently (organis, organiz), so a term
    in one spelling would miss posts in the other; american() rewrites the word first.
    """
    with _LOCK:
        if not _stemmers:
            import snowballstemmer

            _stemmers.append(snowballstemmer.stemmer("english"))
        result: str = _stemmers[0].stemWord(american(word))
    return result


# British spellings rewritten before stemming. Applied to terms and posts alike, so an
# over-eager rewrite ("promise" -> "promize") is harmless: both sides change the same way.
# -ise/-yse verbs and their forms (organised, analysing, mobilisation), with at least two
# letters before the suffix so "rise" and "wise" stay; -our nouns of six letters or more
# (colour, favourable, behaviour) but not four, hour, your, flour; and a few whole words.
_BRITISH_SUFFIXES = (
    (re.compile(r"(?<=\w\w)is(e|ed|es|ing|ation|ations|er|ers)$"), r"iz\1"),
    (re.compile(r"(?<=\w\w)ys(e|ed|es|ing|er|ers)$"), r"yz\1"),
    (re.compile(r"(?<=\w\w\w)our(s|ed|ing|able|ably|ite|ites|ful|less)?$"), r"or\1"),
)
_BRITISH_WORDS = {
    british: american_form
    for stem_british, stem_american in (
        ("defence", "defense"),
        ("offence", "offense"),
        ("licence", "license"),
        ("pretence", "pretense"),
        ("programme", "program"),
        ("manoeuvre", "maneuver"),
        ("centre", "center"),
        ("theatre", "theater"),
        ("metre", "meter"),
        ("kilometre", "kilometer"),
        ("litre", "liter"),
        ("fibre", "fiber"),
        ("calibre", "caliber"),
        ("catalogue", "catalog"),
    )
    for british, american_form in (
        (stem_british, stem_american),
        (stem_british + "s", stem_american + "s"),
    )
}


# Every ending the suffix rules can rewrite: one str.endswith() spares most words the regexes.
_BRITISH_ENDINGS = tuple(
    stem + ending
    for stem, endings in (
        ("is", ("e", "ed", "es", "ing", "ation", "ations", "er", "ers")),
        ("ys", ("e", "ed", "es", "ing", "er", "ers")),
        ("our", ("", "s", "ed", "ing", "able", "ably", "ite", "ites", "ful", "less")),
    )
    for ending in endings
)


def american(word: str) -> str:
    """An English word in American spelling, as far as the rules above tell."""
    found = _BRITISH_WORDS.get(word)
    if found is not None:
        return found
    if word.endswith(_BRITISH_ENDINGS):
        for pattern, replacement in _BRITISH_SUFFIXES:
            word = pattern.sub(replacement, word)
    return word


@functools.lru_cache(maxsize=4096)
def display_lemmas(lang: str, word: str) -> tuple[str, ...]:
    """All lemmas of a word, most likely first (pymorphy3's order), for people to read."""
    morph = analyzer(lang)
    with _LOCK:
        normal_forms = morph.normal_forms(word)
    return tuple(dict.fromkeys(_normal(lemma) for lemma in normal_forms))


@functools.lru_cache(maxsize=1 << 18)
def dictionary_lemmas(lang: str, word: str) -> tuple[str, ...]:
    """The lemmas of a word's dictionary readings, () if the dictionary lacks it: lemmas()
    without building the paradigms' forms, for indexing posts (bot/search_lemmas.py), where
    most words are met once and their forms never needed."""
    morph = analyzer(lang)
    dictionary = morph.dictionary
    with _LOCK:
        found = dictionary.words.similar_items(word, morph.char_substitutes)
    known = {
        _normal(dictionary.build_normal_form(para_id, index, fixed_word))
        for fixed_word, parses in found
        for para_id, index in parses
    }
    return tuple(sorted(known))
