"""The hot loops of find(): a post's words, their memoised group codes, and its phrase hits.

One implementation, in typed Python. Per post, find() splits the text with the word regex
(normalize.word_splitter: one C-level call gives words and the gaps between them), joins the
words' group codes from the per-matcher memo (resolve.py) with one str.join over
dict.__getitem__, lets the mode's pyahocorasick automaton find every phrase in the joined
codes (search.py), and turns the automaton's values into hits here (collect). With 10,000
terms a post of ~70 words has ~20 phrase matches; everything per word runs inside C calls,
so the Python work left is per match. (This module compiled with mypyc ran no clearly
faster, for that reason, so the install compiles nothing.)

The words of a post are a named tuple (Words), one per post; the automaton's values are
plain tuples (Entry, Extra, Checked), unpacked in the loop that runs per match.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from importlib.machinery import EXTENSION_SUFFIXES
from itertools import accumulate
from operator import itemgetter
from typing import NamedTuple, Protocol, TypeVar, cast

from bot.rules.normalize import word_splitter

Owner = tuple[int, int]  # (term_id, framing_id)
Check = tuple[tuple[int, str], ...]  # (offset in the phrase, class character) to verify
RawHit = tuple[int, int, int, int]  # (start, term_id, framing_id, stop): sorts as hits must
Tracked = tuple[int, int, int]  # (phrase id, first word, last word)
T = TypeVar("T", bound=tuple[int, int, int, int])

# Which scanner runs, for the start-up log. Nothing compiles this module at install; were it
# compiled (mypyc), it would be an extension module, named with an extension suffix.
KIND = "compiled" if __file__.endswith(tuple(EXTENSION_SUFFIXES)) else "interpreted"


# The automaton's values are plain tuples, not named ones: CPython unpacks an exact tuple
# several times faster than a tuple subclass, and collect() unpacks ~20 per post.
#
# Checked: a phrase whose words need a check of their own classes: (check, its owners, hit
# when the check passes; its phrase id when a boolean or NEAR term looks at it, else -1).
Checked = tuple[Check, tuple[Owner, ...], int]
# Extra: what an automaton value needs beyond its plain owners (None for most values): (the
# plain phrase ids that boolean and NEAR terms look at; its Checked phrases; whether two of
# the value's hits can be the same).
Extra = tuple[tuple[int, ...], tuple[Checked, ...], bool]
# Entry: the automaton value of one key (the group codes of a phrase's words): (its length in
# words; its phrase ids that need no check; (phrase id, check) of the others; the (term,
# framing) pairs of the plain phrases, each once; its Extra or None).
Entry = tuple[int, tuple[int, ...], tuple[tuple[int, Check], ...], tuple[Owner, ...], Extra | None]


class WordAt(Protocol):
    """Word k of a post by index: a list of the words, or batch_words.CutWords."""

    def __getitem__(self, k: int, /) -> str: ...


class Words(NamedTuple):
    """A text's words and where they are: word i is text[bounds[2i]:bounds[2i + 1]]."""

    words: list[str]
    bounds: list[int]


def split_words(text: str) -> Words:
    """The words of the word regex, and their bounds from the lengths of the parts between."""
    parts = split_parts(text)
    return Words(parts[1::2], bounds_of(parts))


def split_parts(text: str) -> list[str]:
    """[gap, word, gap, word, ..., gap]: the words are parts[1::2]."""
    parts: list[str] = word_splitter().split(text)
    return parts


def bounds_of(parts: list[str]) -> list[int]:
    """Where the words of split_parts() are: word i is text[bounds[2i]:bounds[2i + 1]].
    Only posts with a hit need them (about half of the posts of a busy channel)."""
    return list(accumulate(map(len, parts)))


def joined_codes(words: list[str], memo: dict[str, str]) -> str | None:
    """The words' group codes joined, or None when the memo lacks a word (resolve it first).

    One join over dict.__getitem__: no per-word Python code when every word is known, which
    in a running bot is nearly every post.
    """
    try:
        return "".join(map(memo.__getitem__, words))
    except KeyError:
        return None


def collect(
    matches: Iterable[tuple[int, Entry]],
    bounds: list[int],
    width: int,
    hits: list[RawHit],
    words: WordAt,
    class_memo: dict[str, str],
    fallback: Callable[[str], str],
) -> tuple[list[Tracked], bool]:
    """Every phrase hit of the automaton's matches, appended to hits.

    A match is (end, entry): the index of its last character in the joined codes (width
    characters per word) and its Entry. Every owner gets a hit (start, term_id, framing_id,
    stop). With an Extra, each tracked phrase id is an occurrence (pid, first word, last
    word) to return; each Checked phrase adds its owners' hits, and its occurrence when
    tracked, if every (offset, class character) of its check is among the classes of word
    first + offset (from class_memo, else fallback(word)). Returns the occurrences and
    whether some hit may have been added twice (an Extra's `repeats`).
    """
    # Runs for every post: plain loops and local names, cheaper than generators here.
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
        may_repeat |= repeats
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


def as_hits(raw: list[RawHit], hit_type: type[T]) -> list[T]:
    """Each raw (start, term_id, framing_id, stop) as hit_type(term_id, framing_id, start,
    stop), hit_type being a tuple subclass (matcher.Hit), without a Python call per hit."""
    if not raw:
        return []
    new_hit = functools.partial(tuple.__new__, hit_type)
    make = cast("Callable[[tuple[int, int, int, int]], T]", new_hit)  # a string: no run-time cost
    return list(map(make, map(_HIT_FIELDS, raw)))


_HIT_FIELDS = itemgetter(1, 2, 0, 3)
