"""The hot loops of find(): a post's words with their memoised group codes, and its hits.

scan() is the first step of every find() and was most of its cost in Python: the word regex
(normalize.word_pattern) and one dict lookup per word took ~60 µs of a post's ~80. walk()
follows the code trie (search.py) from every word and turns the phrases found into hits
(~20 per post with 10,000 terms). The compiled extension bot.rules._scan
(bot/rules/_scan.c, built by `pip install` when a C compiler is present) does both in C,
several times faster; given a Resolver, scan() also resolves the commonest new words (plain
Russian, Ukrainian or English words) without calling back into Python. Without the
extension, find() uses python_scan and, instead of the trie walk, a pyahocorasick automaton
with python_collect (faster in Python than python_walk, which is only the C walk's
reference). Each C function gives what its reference gives for every input
(tests/test_scanner.py compares them on real posts and random text).
"""

from __future__ import annotations

import functools
import os
import unicodedata
from array import array
from collections.abc import Callable, Iterable
from itertools import accumulate
from operator import itemgetter
from typing import Any, TypeVar, cast

from bot.rules.normalize import APOSTROPHES, ZERO_WIDTH, cyrillic_language, word_splitter
from bot.rules.search import walk_codes

# The words; the memo's group of each (None when the memo lacks the word); bytes of native
# int32 pairs, word i being text[spans[2i]:spans[2i + 1]] (see word_spans); and the groups
# joined, or None when a group is None.
Scanned = tuple[list[str], list[Any], bytes, str | None]
# What lets the C scanner resolve a word the memo lacks as ResolvedWords._fast() and _slow()
# would (see ResolvedWords._resolver): the class memo to fill beside the group memo; the
# values of known normalised words ((group, classes), or None for "Python decides"); guessed
# stems by their first letters and the number of those letters: a word starting with one is
# left to Python; (length, keys) pairs: so is a word whose first `length` letters are in keys;
# the value of a word of no term; and, for English words, the keys of the term stems (their
# first letters), those keys' length, the stemmer, and the value of each term stem.
Resolver = tuple[
    dict[str, str],
    dict[str, tuple[str, str] | None],
    dict[str, tuple[str, ...]],
    int,
    tuple[tuple[int, frozenset[str]], ...],
    tuple[str, str],
    frozenset[str],
    int,
    Callable[[str], str],
    dict[str, tuple[str, str]],
]
ScanFunction = Callable[[str, bytes, dict[str, Any], Resolver | None], Scanned]
RawHit = tuple[int, int, int, int]  # (start, term_id, framing_id, stop)
Tracked = tuple[int, int, int]  # (phrase id, first word, last word)
WalkFunction = Callable[
    [
        list[str],
        dict[str, Any],
        bytes,
        list[RawHit],
        list[str],
        dict[str, str],
        Callable[[str], str],
    ],
    tuple[list[Tracked], bool],
]

T = TypeVar("T", bound=tuple[int, int, int, int])
OTHER, LETTER, MARK, JOINER = 0, 1, 2, 3
_PURE_PYTHON = "FRAMEWATCH_PURE_PYTHON"  # set to 1 to ignore the extension (for comparisons)


@functools.cache
def char_table() -> bytes:
    """The class of each BMP code point, by the rules of normalize.word_pattern."""
    joiners = APOSTROPHES | ZERO_WIDTH
    table = bytearray(0x10000)
    for code in range(0x10000):
        char = chr(code)
        if char.isalnum() and char != "\u02bc":
            table[code] = LETTER
        elif char in joiners:
            table[code] = JOINER
        elif unicodedata.category(char).startswith("M"):
            table[code] = MARK
    return bytes(table)


def python_scan(
    text: str, table: bytes, memo: dict[str, Any], resolver: Resolver | None = None
) -> Scanned:
    """The reference: the word regex's split, and a dict lookup per word.

    Table and resolver are for the C version; without the resolver a word the memo lacks
    has the group None and Python resolves it (to what the resolver would give).
    """
    parts: list[str] = word_splitter().split(text)
    words = parts[1::2]
    groups: list[Any] = list(map(memo.get, words))
    ends = array("i", accumulate(map(len, parts[:-1])))  # where each word starts, then ends
    return words, groups, ends.tobytes(), None if None in groups else "".join(groups)


def word_spans(spans: bytes) -> memoryview:
    """scan()'s spans as a sequence of ints: word i is text[spans[2i]:spans[2i + 1]]."""
    return memoryview(spans).cast("i")


def python_collect(
    matches: Iterable[tuple[int, Any]],
    spans: bytes,
    width: int,
    hits: list[RawHit],
    words: list[str],
    class_memo: dict[str, str],
    fallback: Callable[[str], str],
) -> tuple[list[Tracked], bool]:
    """The reference: every phrase hit of the automaton's matches, appended to hits.

    A match is (end, value): the index of its last character in the searched string (width
    characters per word) and the automaton value (length in words, _, _, owners, extra; see
    Engine._match_payload). Every owner gets a hit (start, term_id, framing_id, stop). When
    extra is not None, (plain tracked phrase ids, checked phrases, repeats): each plain
    tracked id is an occurrence (pid, first word, last word) to return; each checked phrase
    (check, more owners, tracked pid or -1) adds the hits of `more`, and its occurrence when
    tracked, if every (offset, class character) of its check is among the classes of word
    first + offset (from class_memo, else fallback(word)). Returns the occurrences and
    whether some hit may have been added twice (a `repeats` was true).
    """
    # The pure-Python find() path runs this for every post: plain loops and local names,
    # which cost less than generators here.
    bounds = word_spans(spans)
    tracked: list[Tracked] = []
    may_repeat = False
    append, class_of = hits.append, class_memo.get
    for end, (length, _, _, owners, extra) in matches:
        last = end // width
        first = last - length + 1
        start, stop = bounds[2 * first], bounds[2 * last + 1]
        for term_id, framing_id in owners:
            append((start, term_id, framing_id, stop))
        if extra is None:
            continue
        plain_tracked, checked, repeats = extra
        for pid in plain_tracked:
            tracked.append((pid, first, last))
        may_repeat |= bool(repeats)
        for check, more, tracked_pid in checked:
            for offset, char in check:
                word = words[first + offset]
                if char not in (class_of(word) or fallback(word)):
                    break
            else:
                for term_id, framing_id in more:
                    append((start, term_id, framing_id, stop))
                if tracked_pid >= 0:
                    tracked.append((tracked_pid, first, last))
    return tracked, may_repeat


def python_walk(
    groups: list[str],
    codes: dict[str, Any],
    spans: bytes,
    hits: list[RawHit],
    words: list[str],
    class_memo: dict[str, str],
    fallback: Callable[[str], str],
) -> tuple[list[Tracked], bool]:
    """The reference for the C walk(): python_collect() of the phrases search.walk_codes()
    finds along the words' group codes (a match's end is then its last word)."""
    matches = ((last, value) for _, last, value in walk_codes(codes, groups))
    return python_collect(matches, spans, 1, hits, words, class_memo, fallback)


def python_as_hits(raw: list[RawHit], hit_type: type[T]) -> list[T]:
    """The reference: each raw (start, term_id, framing_id, stop) as hit_type(term_id,
    framing_id, start, stop), hit_type being a tuple subclass (matcher.Hit)."""
    new_hit = functools.partial(tuple.__new__, hit_type)
    make = cast(Callable[[tuple[int, int, int, int]], T], new_hit)
    return list(map(make, map(_HIT_FIELDS, raw)))


_HIT_FIELDS = itemgetter(1, 2, 0, 3)


def _extension() -> Any:
    if os.environ.get(_PURE_PYTHON) == "1":
        return None
    try:
        from bot.rules import _scan  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _scan


_C = _extension()
c_scan: ScanFunction | None = _C.scan if _C else None
c_walk: WalkFunction | None = _C.walk if _C else None
c_language: Callable[[str], str] | None = _C.language if _C else None
c_as_hits: Callable[[list[RawHit], type[Any]], list[Any]] | None = _C.as_hits if _C else None
scan: ScanFunction = c_scan or python_scan
language: Callable[[str], str] = c_language or cyrillic_language
as_hits: Callable[[list[RawHit], type[T]], list[T]] = c_as_hits or python_as_hits
ACCELERATED = _C is not None
