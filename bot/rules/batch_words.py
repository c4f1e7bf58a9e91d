"""The words of a whole batch of posts at once, with numpy: the bulk form of the word rule.

normalize.word_pattern() defines a word: letters (str.isalnum, minus "_" and ʼ), continued
by combining marks of the Basic Multilingual Plane, and by runs of apostrophes and
zero-width characters that stand between word characters. Splitting post by post with that
regex costs about 30 ns a character in sre, and looking each word string up in the matcher's
memo as much again; a scan of a large backlog is mostly that. Here the batch's texts are
joined into one array of code points, each code point is classified through one table (the
same classes the regex is built from), and word starts and ends come from a few whole-array
operations. Each word gets a 64-bit polynomial hash of its code points and a check (its
length, first and last code points), so the matcher looks up the batch's *distinct* words, not every
occurrence, and tells apart two words whose hashes agree.

tests/test_batch_words.py checks on real posts and on generated hostile text that the words
found here are exactly those of the regex.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.rules.normalize import (
    APOSTROPHES,
    CYRILLIC_BLOCK,
    LETTER_CLASS,
    RUSSIAN_ONLY_LETTERS,
    UKRAINIAN_ONLY_LETTERS,
    ZERO_WIDTH,
    language_by_counts,
    mark_class,
)

# Character classes, one per code point.
OTHER, LETTER, MARK, JOINER = 0, 1, 2, 3
# Flags for the post's language (normalize.cyrillic_language), in other bits of the table.
CYRILLIC, RUSSIAN_ONLY, UKRAINIAN_ONLY = 4, 8, 16
_CLASS_BITS = 2
_SEPARATOR = "\n"  # between the batch's texts: never part of a word
_BASE = 0x9E3779B97F4A7C15  # odd: invertible modulo 2**64, so a hash is the same anywhere

Array = Any  # numpy arrays: numpy's stubs make strict typing of every operation noisy


@functools.cache
def char_table() -> Array:
    """Class and language flags of every code point (1.1 M bytes, built once, ~30 ms), from
    the word regex's own classes (normalize.LETTER_CLASS, mark_class)."""
    every = np.arange(0x110000, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    table = np.zeros(0x110000, dtype=np.uint8)
    for kind, pattern in ((LETTER, LETTER_CLASS), (MARK, mark_class())):
        for run in re.finditer(f"{pattern}+", every):
            table[run.start() : run.end()] = kind
    for char in APOSTROPHES | ZERO_WIDTH:
        table[ord(char)] = JOINER
    table[CYRILLIC_BLOCK[0] : CYRILLIC_BLOCK[1] + 1] |= CYRILLIC
    for char in RUSSIAN_ONLY_LETTERS:
        table[ord(char)] |= RUSSIAN_ONLY
    for char in UKRAINIAN_ONLY_LETTERS:
        table[ord(char)] |= UKRAINIAN_ONLY
    return table


@dataclass(frozen=True, slots=True)
class BatchWords:
    """The words of texts joined by _SEPARATOR into `joined`.

    Word k is joined[starts[k]:ends[k]]; the words of text i are words first[i] to
    first[i + 1] - 1, and text i starts at offsets[i] of joined. keys: one 64-bit hash a word,
    checks: another value words with equal keys must share (see _hashes). Counts per
    text: Cyrillic code points, Russian-only and Ukrainian-only letters.
    """

    joined: str
    offsets: Array
    starts: Array
    ends: Array
    first: Array
    relative: Array  # word k's start and end, within its text, at 2k and 2k + 1
    keys: Array
    checks: Array
    oversized: Array  # per word: longer than the hash's weights (find() takes its text)
    cyrillic: Array
    russian: Array
    ukrainian: Array

    def languages(self) -> list[str]:
        """normalize.cyrillic_language() of each text, from the counts."""
        counts = zip(
            self.cyrillic.tolist(), self.russian.tolist(), self.ukrainian.tolist(), strict=True
        )
        return [language_by_counts(*c) for c in counts]

    def count(self, i: int) -> int:
        """How many words text i has."""
        return int(self.first[i + 1] - self.first[i])

    def counts(self) -> list[int]:
        """How many words each text has."""
        return np.diff(self.first).tolist()  # type: ignore[no-any-return]

    def bounds(self, i: int) -> list[int]:
        """Where the words of text i are in it: word k is text[bounds[2k]:bounds[2k + 1]]."""
        return self.relative[2 * self.first[i] : 2 * self.first[i + 1]].tolist()  # type: ignore[no-any-return]


class CutWords:
    """A text's words, cut out when asked: collect() reads only the few it checks."""

    __slots__ = ("_bounds", "_text")

    def __init__(self, text: str, bounds: list[int]) -> None:
        self._text, self._bounds = text, bounds

    def __getitem__(self, k: int) -> str:
        return self._text[self._bounds[2 * k] : self._bounds[2 * k + 1]]


def located_words(text: str, batch: BatchWords, i: int) -> tuple[CutWords, list[int]]:
    """Text i's words (cut out on demand) and their bounds, for Engine._token_hits."""
    bounds = batch.bounds(i)
    return CutWords(text, bounds), bounds


def split_batch(texts: list[str]) -> BatchWords:
    """The words of every text (see BatchWords), found in whole-array operations."""
    joined = _SEPARATOR.join(texts) + _SEPARATOR  # each text ends at a separator
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=offsets[1:])
    # surrogatepass: a lone surrogate (possible in imported JSON) is a code point like any
    points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    flags = char_table()[points]
    starts, ends = _word_bounds(flags & ((1 << _CLASS_BITS) - 1))
    keys, checks, oversized = _hashes(points, starts, ends)
    first = np.searchsorted(starts, offsets)
    cuts = offsets[:-1]
    relative = np.empty(2 * len(starts), dtype=np.int64)
    relative[0::2], relative[1::2] = starts, ends
    relative -= np.repeat(cuts, 2 * np.diff(first))
    return BatchWords(
        joined,
        offsets,
        starts,
        ends,
        first,
        relative,
        keys,
        checks,
        oversized,
        _count(flags & CYRILLIC, cuts),
        _count(flags & RUSSIAN_ONLY, cuts),
        _count(flags & UKRAINIAN_ONLY, cuts),
    )


def _word_bounds(classes: Array) -> tuple[Array, Array]:
    """Start and end offsets of the words, by the rule of normalize.word_pattern():

    every letter is in a word; a run of marks and joiners continues a word when a letter
    comes right before the run (else nothing of it is in a word), except its last joiners
    when no letter follows the run (they end the word: joiners only stand *between* word
    characters). Marks and joiners never start a word. Such runs are rare, so they are
    worked out on their own positions only.
    """
    in_word = np.zeros(len(classes) + 2, dtype=bool)  # padded by a non-word on each side
    body = in_word[1:-1]
    np.equal(classes, LETTER, out=body)
    runs = np.flatnonzero(classes >= MARK)
    if len(runs):
        body[runs[_continues_word(classes, runs)]] = True
    edges = np.flatnonzero(in_word[1:] != in_word[:-1])
    return edges[0::2], edges[1::2]


def _continues_word(classes: Array, positions: Array) -> Array:
    """Which of these mark and joiner positions (ascending) are inside a word."""
    first_of_run = np.ones(len(positions), dtype=bool)
    first_of_run[1:] = np.diff(positions) != 1
    run_starts = np.flatnonzero(first_of_run)
    run_of = np.cumsum(first_of_run) - 1
    run_first = positions[run_starts]
    run_last = positions[np.append(run_starts[1:], len(positions)) - 1]
    # The text always ends with a separator, so run_last + 1 is in range; a run at offset 0
    # has nothing before it.
    after_letter = (run_first > 0) & (classes[np.maximum(run_first - 1, 0)] == LETTER)
    before_letter = classes[run_last + 1] == LETTER
    marks = classes[positions] == MARK
    last_mark = np.maximum.reduceat(np.where(marks, positions, -1), run_starts)
    trailing = ~marks & (positions > last_mark[run_of])
    return after_letter[run_of] & (~trailing | before_letter[run_of])


def _powers(size: int) -> tuple[Array, Array]:
    """_BASE**i and _BASE**-i modulo 2**64 for i < size (uint64 arithmetic wraps). The
    largest tables asked for are kept, up to _KEPT_POWERS: a scan batch needs ~2**19 code
    points (8 MB of tables), a worker process's batch ~2**21 (32 MB)."""
    kept = _power_tables[0] if _power_tables else None
    if kept is not None and len(kept[0]) >= size:
        return kept
    up = np.full(size, _BASE, dtype=np.uint64)
    down = np.full(size, pow(_BASE, -1, 2**64), dtype=np.uint64)
    up[0] = down[0] = 1
    tables = np.cumprod(up), np.cumprod(down)
    if size <= _KEPT_POWERS:
        _power_tables[:] = [tables]
    return tables


_power_tables: list[tuple[Array, Array]] = []
_KEPT_POWERS = 1 << 22


def _hashes(points: Array, starts: Array, ends: Array) -> tuple[Array, Array, Array]:
    """Per word: a 64-bit polynomial hash of its code points (the sum of point * base**k
    over its k-th character, from prefix sums of the whole array: no loop per word); a check,
    its length and its first and last code points, which two words of one hash must share
    too; and whether it is too long for the check's length field (such a word's text is left
    to the per-post path)."""
    size = 1 << max(16, len(points).bit_length())
    up, down = _powers(size)
    weighted = np.zeros(len(points) + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        np.cumsum(points * up[: len(points)], out=weighted[1:])
        keys = _mixed((weighted[ends] - weighted[starts]) * down[starts])
        lengths = (ends - starts).astype(np.uint64)
        edges = (points[starts].astype(np.uint64) << np.uint64(21)) | points[ends - 1]
        checks = _mixed(edges ^ (lengths << np.uint64(42)))
    return keys, checks, lengths >= (1 << 22)


def _mixed(hashes: Array) -> Array:
    """The hashes with their bits spread (splitmix64's finaliser): a short word's raw sum
    is a small number, and tables and salts need every bit to vary."""
    with np.errstate(over="ignore"):
        hashes = (hashes ^ (hashes >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        hashes = (hashes ^ (hashes >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return hashes ^ (hashes >> np.uint64(31))


def _count(flags: Array, cuts: Array) -> Array:
    """How many code points of each text have the flag (texts start at cuts)."""
    if len(cuts) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.add.reduceat((flags != 0).astype(np.int64), cuts)
