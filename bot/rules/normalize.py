"""Words of a post, normalised so that a term and a post compare equal when they look equal.

Posts are copied between channels, retyped on phones and run through "anti-filter" tricks
(zero-width characters, full-width letters, Latin letters that look Cyrillic), so the
comparison ignores case, ё/е, ґ/г, Unicode compatibility forms, invisible characters, stress
marks, the apostrophe variant and look-alike letters of the other script.

A word is a run of letters and digits (str.isalnum; the underscore separates words); combining
marks of the Basic Multilingual Plane continue a word (е + U+0308 is ё), and zero-width
characters and apostrophes are part of a word only between its letters. One regular expression
implements this, so finding words costs no Python work per character. Terms and posts go
through the same functions, so any choice made here is consistent on both sides.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

# Invisible characters that are inserted inside words to dodge keyword filters.
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")

# Ukrainian spells the apostrophe in all of these ways; ‘ (U+2018) is a common autocorrect
# slip for ’ and ＇ is its full-width form. They only count inside a word, so quotation marks
# around a word stay outside.
APOSTROPHES = frozenset("'’ʼ`‘＇")

# Stress marks are printed in dictionaries and some posts ("жест доброй во́ли"); NFKC keeps
# them as separate combining characters after Cyrillic vowels.
# They are deleted, and the apostrophe variants unified, in one translate() call.
_STRESS_AND_APOSTROPHES = str.maketrans(
    dict.fromkeys("\u0301\u0300") | dict.fromkeys(APOSTROPHES - {"'"}, "'")
)
_STRESS_OR_APOSTROPHE = re.compile("[\u0301\u0300" + "".join(sorted(APOSTROPHES - {"'"})) + "]")

# Latin letters that look like Cyrillic ones once case-folded (b, h, k, m, t come from the
# capitals B H K M T), and the reverse; only applied inside words that mix the two scripts.
_LATIN_TO_CYRILLIC = str.maketrans("abcehikmoptxyï", "авсенікмортхуї")
_CYRILLIC_TO_LATIN = str.maketrans("авсенікмортхуїѕј", "abcehikmoptxyïsj")
CYRILLIC_BLOCK = (0x400, 0x4FF)  # the code points counted as Cyrillic
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_LATIN = re.compile("[a-z\u00df-\u024f]")

# Letters only one of the two languages uses; ё and ґ are counted before normalisation.
RUSSIAN_ONLY_LETTERS = "ыэъёЫЭЪЁ"
UKRAINIAN_ONLY_LETTERS = "іїєґІЇЄҐ"
_RUSSIAN_ONLY = re.compile(f"[{RUSSIAN_ONLY_LETTERS}]")
_UKRAINIAN_ONLY = re.compile(f"[{UKRAINIAN_ONLY_LETTERS}]")
_LETTERS_FOR_RUSSIAN_DEFAULT = 20  # Cyrillic letters with no і/ї/є/ґ: almost surely Russian


@dataclass(frozen=True, slots=True)
class Token:
    """One word: its normalised form and its span text[start:end] in the original text."""

    norm: str
    start: int
    end: int


@functools.cache
def word_splitter() -> re.Pattern[str]:
    """The word regex as one group: split() gives [gap, word, gap, word, ..., gap].

    Splitting is about as fast as findall and keeps the gaps, whose lengths give the words'
    positions without a second regex pass.
    """
    return re.compile(f"({word_pattern().pattern})")


LETTER_CLASS = r"[^\W_\u02bc]"  # ʼ is a letter (Lm) to Unicode but an apostrophe here


@functools.cache
def mark_class() -> str:
    """The regex class of the combining marks that continue a word: those of the BMP."""
    return _char_class(cp for cp in range(0x10000) if unicodedata.category(chr(cp)).startswith("M"))


@functools.cache
def word_pattern() -> re.Pattern[str]:
    """The compiled word regex; built on first use (scanning the marks takes ~15 ms)."""
    marks, letter = mark_class(), LETTER_CLASS
    joiners = re.escape("".join(sorted(APOSTROPHES | ZERO_WIDTH)))
    # Letters, then any number of (a mark, or joiners followed by a letter or mark) and more
    # letters; every step consumes a character, so matching stays linear. The quantifiers are
    # possessive and each continuation is entered only when a mark or joiner follows: the
    # words found are the same (nothing after a run can succeed by giving letters back), with
    # less work per word, and splitting posts is a quarter of a warm matcher's time.
    continues = f"(?=[{marks[1:-1]}{joiners}])"
    return re.compile(
        f"{letter}++(?:{continues}(?:{marks}|[{joiners}]++(?={letter}|{marks})){letter}*+)*+"
    )


def _char_class(code_points: object) -> str:
    ranges: list[list[int]] = []
    for cp in code_points:  # type: ignore[attr-defined]
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    parts = (
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )
    return "[" + "".join(parts) + "]"


@functools.lru_cache(maxsize=65536)
def normalize_word(word: str) -> str:
    """The comparable form of one word; "" if it holds no word characters.

    Cached because posts repeat words; the cache is bounded and holds only strings.
    """
    if not ZERO_WIDTH.isdisjoint(word):
        word = "".join(ch for ch in word if ch not in ZERO_WIDTH)
    # NFKC, casefold, NFKC again: casefolding can leave a decomposed sequence behind
    # (this is Unicode's NFKC_Casefold recipe, minus the ignorables removed above). Most
    # words are already normalised, which is_normalized checks much faster.
    folded = _nfkc(_nfkc(word).casefold()).replace("ё", "е").replace("ґ", "г")
    if _STRESS_OR_APOSTROPHE.search(folded):
        folded = folded.translate(_STRESS_AND_APOSTROPHES)
    if not folded.isalnum():
        folded = "".join(ch for ch in folded if _kept(ch))
    return fold_lookalikes(folded)


_DROP_ZERO_WIDTH = str.maketrans(dict.fromkeys(ZERO_WIDTH))
# A regex search, since frozenset.isdisjoint(text) makes a string object per character.
_ANY_ZERO_WIDTH = re.compile("[" + "".join(sorted(ZERO_WIDTH)) + "]")
_SEPARATOR = "\n"  # never part of a word, and no normalisation step creates or removes it


def normalize_words(words: list[str]) -> list[str]:
    """normalize_word of each word, with the same results, done on all of them at once.

    A fresh matcher meets thousands of new words; each whole-string step (NFKC, casefold,
    translate) costs about as much for one joined string as for one word, so doing them once
    per batch instead of once per word makes resolving a new word several times cheaper.
    Every step works character by character (casefold has no context, NFKC does not compose
    across the separator), so the joined result splits back into the per-word results.
    """
    block = _SEPARATOR.join(words)
    if _ANY_ZERO_WIDTH.search(block):
        block = block.translate(_DROP_ZERO_WIDTH)
    block = _nfkc(_nfkc(block).casefold()).replace("ё", "е").replace("ґ", "г")
    if _STRESS_OR_APOSTROPHE.search(block):
        block = block.translate(_STRESS_AND_APOSTROPHES)
    folded = block.split(_SEPARATOR)
    if len(folded) != len(words):  # cannot happen (see above); never risk a misalignment
        return [normalize_word(word) for word in words]
    if not block.replace(_SEPARATOR, "").isalnum():
        folded = [w if w.isalnum() else "".join(ch for ch in w if _kept(ch)) for w in folded]
    if _LATIN.search(block) is not None and _CYRILLIC.search(block) is not None:
        folded = [fold_lookalikes(word) for word in folded]
    return folded


def _nfkc(text: str) -> str:
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def _kept(char: str) -> bool:
    # NFKC can expand a letter into letters plus punctuation ("㈠" -> "(ᄀ)"); only the
    # word characters belong in the normalised word.
    return char.isalnum() or char in APOSTROPHES or unicodedata.category(char).startswith("M")


def fold_lookalikes(word: str) -> str:
    """A word mixing Cyrillic and Latin letters, written in the script most of it uses.

    "жеcт" with a Latin c becomes "жест"; "nаto" with a Cyrillic а becomes "nato". Words in
    one script are returned unchanged.
    """
    if _LATIN.search(word) is None or _CYRILLIC.search(word) is None:
        return word
    cyrillic = len(_CYRILLIC.findall(word))
    latin = len(_LATIN.findall(word))
    if cyrillic >= latin:
        return word.translate(_LATIN_TO_CYRILLIC)
    return word.translate(_CYRILLIC_TO_LATIN)


def tokenize(text: str) -> list[Token]:
    """The words of text, in order, with their spans in the original (unnormalised) text."""
    tokens = []
    for match in word_pattern().finditer(text):
        norm = normalize_word(match.group())
        if norm:
            tokens.append(Token(norm, match.start(), match.end()))
    return tokens


def script(norm: str) -> str:
    """ "cyrillic", "latin" or "other" for a normalised word (look-alikes already folded)."""
    if _CYRILLIC.search(norm):
        return "cyrillic"
    if _LATIN.search(norm):
        return "latin"
    return "other"


def detect_language(text: str) -> str:
    """ "ru", "uk", "en" or "other", judged by letters only.

    Latin letters in the majority: "en". Otherwise the letters only Russian (ы э ъ ё) or only
    Ukrainian (і ї є ґ) uses decide; a Cyrillic text of 20 or more letters with none of
    either is Russian (Ukrainian prose without і/ї/є is very rare); anything else is "other".
    """
    cyrillic = len(_CYRILLIC.findall(text))
    latin = len(_LATIN.findall(text.lower()))
    if latin > cyrillic:
        return "en"
    return cyrillic_language(text, cyrillic)


def cyrillic_language(text: str, cyrillic_letters: int | None = None) -> str:
    """ "ru", "uk" or "other": which analyser Cyrillic words of this text should use."""
    if _UKRAINIAN_ONLY.search(text) is None and _RUSSIAN_ONLY.search(text) is not None:
        return "ru"  # the common case, decided without counting
    russian = len(_RUSSIAN_ONLY.findall(text))
    ukrainian = len(_UKRAINIAN_ONLY.findall(text))
    if ukrainian == russian == 0 and cyrillic_letters is None:
        cyrillic_letters = len(_CYRILLIC.findall(text))
    return language_by_counts(cyrillic_letters or 0, russian, ukrainian)


def language_by_counts(cyrillic: int, russian: int, ukrainian: int) -> str:
    """cyrillic_language() from a text's counts of Cyrillic code points, Russian-only and
    Ukrainian-only letters (the bulk scan counts a whole batch at once, batch_words.py)."""
    if russian > ukrainian:
        return "ru"
    if ukrainian > russian:
        return "uk"
    if ukrainian == 0 and cyrillic >= _LETTERS_FOR_RUSSIAN_DEFAULT:
        return "ru"
    return "other"


def term_languages(term: str) -> tuple[str, ...]:
    """The Cyrillic languages a term could be in: both unless its letters rule one out."""
    russian = _RUSSIAN_ONLY.search(term) is not None
    ukrainian = _UKRAINIAN_ONLY.search(term) is not None
    if russian and not ukrainian:
        return ("ru",)
    if ukrainian and not russian:
        return ("uk",)
    return ("ru", "uk")
