"""Words of a post, normalised so that a term and a post compare equal when they look equal.

Posts are copied between channels, retyped on phones and run through "anti-filter" tricks
(zero-width characters, full-width letters), so the comparison ignores case, ё/е, Unicode
compatibility forms, invisible characters and the apostrophe variant. Word forms stay exact:
stemming is left to the lemma-based engine that will replace this one.

Terms and posts go through the same functions, so any choice made here is consistent on
both sides; what matters is that look-alike spellings collapse to one form.
"""

from __future__ import annotations

import enum
import functools
import unicodedata
from dataclasses import dataclass

# Invisible characters that are inserted inside words to dodge keyword filters.
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")

# Ukrainian spells the apostrophe in all of these ways; ‘ (U+2018) is a common autocorrect
# slip for ’. They only count inside a word, so quotation marks around a word stay outside.
APOSTROPHES = frozenset("'’ʼ`‘")
_APOSTROPHE = "'"


class _Kind(enum.Enum):
    WORD = enum.auto()  # letter or digit: starts or continues a word
    MARK = enum.auto()  # combining mark: continues a word (е + U+0308 is ё)
    JOINER = enum.auto()  # zero-width character or apostrophe: kept only between word chars
    SEPARATOR = enum.auto()  # whitespace, punctuation, symbols, underscore


@dataclass(frozen=True, slots=True)
class Token:
    """One word: its normalised form and its span text[start:end] in the original text."""

    norm: str
    start: int
    end: int


def normalize_word(word: str) -> str:
    """The comparable form of one word; "" if it holds no word characters."""
    visible = "".join(ch for ch in word if ch not in ZERO_WIDTH)
    # NFKC, casefold, NFKC again: casefolding can leave a decomposed sequence behind
    # (this is Unicode's NFKC_Casefold recipe, minus the ignorables removed above).
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", visible).casefold())
    folded = folded.replace("ё", "е")
    return "".join(_unify(ch) for ch in folded if _is_kept(ch))


def tokenize(text: str) -> list[Token]:
    """The words of text, in order, with their spans in the original (unnormalised) text."""
    tokens: list[Token] = []
    start = -1  # index of the current word's first character, -1 between words
    end = 0  # end of the current word so far; trailing joiners are not part of it
    for index, char in enumerate(text):
        kind = _kind(char)
        if kind is _Kind.WORD:
            if start < 0:
                start = index
            end = index + 1
        elif kind is _Kind.MARK and start >= 0:
            end = index + 1
        elif kind is _Kind.SEPARATOR and start >= 0:
            tokens.append(_token(text, start, end))
            start = -1
        # A mark or joiner outside a word, or a joiner inside one, changes nothing yet:
        # a joiner becomes part of the word only once another word character follows.
    if start >= 0:
        tokens.append(_token(text, start, end))
    return tokens


def _token(text: str, start: int, end: int) -> Token:
    return Token(normalize_word(text[start:end]), start, end)


@functools.lru_cache(maxsize=8192)
def _kind(char: str) -> _Kind:
    """How a character takes part in words, judged on its NFKC form.

    Judging the NFKC form makes e.g. a full-width apostrophe an apostrophe and a ligature a
    letter, as they will be after normalize_word. The cache is bounded so a post stuffed
    with every code point cannot grow it without limit.
    """
    if char in ZERO_WIDTH:
        return _Kind.JOINER
    compat = unicodedata.normalize("NFKC", char)
    if char in APOSTROPHES or compat in APOSTROPHES:  # ʼ is a letter (Lm) to Unicode
        return _Kind.JOINER
    if any(ch.isalnum() for ch in compat):
        return _Kind.WORD
    if compat and all(unicodedata.category(ch).startswith("M") for ch in compat):
        return _Kind.MARK
    return _Kind.SEPARATOR


def _is_kept(char: str) -> bool:
    # NFKC can expand a letter into letters plus punctuation ("㈠" -> "(ᄀ)"); only the
    # word characters belong in the normalised word.
    return char.isalnum() or char in APOSTROPHES or unicodedata.category(char).startswith("M")


def _unify(char: str) -> str:
    return _APOSTROPHE if char in APOSTROPHES else char
