"""Search by meaning: the lemma text indexed beside each post, and the query's lemma tokens.

A post is indexed (storage/lemma_index.py, table post_lemmas) as two columns with one token
per word of the post, in word order, so phrases and NEAR work on either:
- `forms`: the normalised word (bot.rules.normalize: case, ё/е, look-alikes folded);
- `lemmas`: the word's *lemma key*, every lemma the word can have, sorted and joined by "_"
  ("стали" -> "сталь_стать"), from the same lemmatiser the rules use (bot.rules.morph:
  pymorphy3 for Russian and Ukrainian, Snowball stems for English).
A query word q then matches a post word w when they share a lemma: the query asks for the
lemma keys of every form of q's paradigms (forms_keys), which a word of any of those forms
has in the index. "стать" finds "стали" (key сталь_стать) but not "сталью" (key сталь).

Tokens are kept to characters SQLite's unicode61 tokenizer reads as one token (letters,
digits, "_" declared as a token character); the apostrophe becomes ʼ (a letter).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from bot.rules import morph
from bot.rules.normalize import cyrillic_language, normalize_words, script, term_languages
from bot.rules.scanner import split_words
from bot.rules.vocabulary import MODE_LANGUAGES

JOIN = "_"
_MODES = tuple(MODE_LANGUAGES)  # the Cyrillic language modes a post can be read in
_MAX_PARADIGM_FORMS = 400  # a query word's forms looked at (a huge paradigm is cut short)


@dataclass(frozen=True, slots=True)
class LemmaText:
    """What post_lemmas holds for one post: one token per word in each column."""

    forms: str
    lemmas: str


def token(word: str) -> str:
    """A normalised word or lemma as one FTS token: letters and digits, apostrophe as ʼ."""
    if word.isalnum():
        return word
    return "".join(ch if ch.isalnum() else "ʼ" if ch == "'" else "" for ch in word)


@functools.lru_cache(maxsize=1 << 18)
def lemma_key(mode: str, norm: str) -> str:
    """The lemma key of a normalised word in a post read in `mode` ("ru", "uk", "other")."""
    kind = script(norm)
    if kind == "cyrillic":
        languages = MODE_LANGUAGES[mode]
        found = {lemma for lang in languages for lemma in morph.dictionary_lemmas(lang, norm)}
        if not found:  # guessed only when no dictionary of the mode knows the word
            found = {lemma for lang in languages for lemma in morph.predicted_lemmas(lang, norm)}
        keys = sorted({t for t in map(token, found) if t}) or [token(norm)]
        return JOIN.join(keys)
    if kind == "latin":
        return token(morph.stem(norm)) or token(norm)
    return token(norm)


def post_mode(text: str) -> str:
    """The Cyrillic language a post's words are lemmatised in (as the rules read it)."""
    return cyrillic_language(text)


def lemma_text(text: str) -> LemmaText:
    """The two indexed columns of a post's text."""
    words = [w for w in normalize_words(split_words(text).words) if token(w)]
    mode = post_mode(text)
    return LemmaText(" ".join(token(w) for w in words), " ".join(lemma_key(mode, w) for w in words))


@functools.lru_cache(maxsize=4096)
def forms_keys(norm: str) -> tuple[str, ...]:
    """Every lemma key a post word sharing a lemma with the query word `norm` can have.

    For a Cyrillic word: the keys of all forms of its dictionary paradigms (in every
    language the word can be in, each read in every post mode using that language), and its
    own keys (for words the dictionary lacks, whose lemmas are guessed).
    """
    kind = script(norm)
    if kind != "cyrillic":
        return (lemma_key("other", norm),)
    languages = set(term_languages(norm))
    keys: set[str] = set()
    for mode in _MODES:
        mode_languages = languages.intersection(MODE_LANGUAGES[mode])
        if not mode_languages:
            continue
        keys.add(lemma_key(mode, norm))
        for lang in sorted(mode_languages):
            for form in _paradigm_forms(lang, norm):
                keys.add(lemma_key(mode, form))
    return tuple(sorted(keys))


@functools.lru_cache(maxsize=4096)
def known_forms(norm: str) -> frozenset[str]:
    """The query word and every form of its dictionary paradigms (snippets mark a post word
    in this set without lemmatising it)."""
    forms = {norm}
    if script(norm) == "cyrillic":
        for lang in term_languages(norm):
            forms.update(_paradigm_forms(lang, norm))
    return frozenset(forms)


def _paradigm_forms(lang: str, norm: str) -> Iterable[str]:
    forms = sorted({form for _lemma, paradigm in morph.paradigms(lang, norm) for form in paradigm})
    return forms[:_MAX_PARADIGM_FORMS]
