"""The group codes of a batch's words, looked up once per distinct word (find_many).

The per-post path looks every word string up in ResolvedWords' memo. The bulk path has no
word strings (batch_words.py gives offsets and hashes), so it keeps a memo of its own, keyed
by word hash and post language, in numpy arrays (an open-addressing table: a dict of a
hundred thousand int keys costs ~300 ns a lookup in cache misses, the table's vectorised
probes a few ns). The batch's distinct keys are found with one sort and each is looked up
once; only words never seen are cut out of the text and resolved through ResolvedWords,
which decides what a word means (nothing is decided here).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from bot.rules.batch_words import Array, BatchWords

# Keys of the three languages kept apart: the same word may mean different things in each.
_SALTS = {"ru": 0, "uk": 0x5BD1E9955BD1E995, "other": 0x27D4EB2F165667C5}
_SPREAD = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: key * this, top bits = slot
# Distinct words kept before starting over (ResolvedWords keeps 300,000 per language).
LIMIT = 900_000
_MISSING, _CLASH = -1, -2

Resolve = Callable[[list[str], str], list[str]]


class KeyTable:
    """Open addressing with linear probing: 64-bit key -> (check, value). Key 0 marks an
    empty slot, so it is never given."""

    def __init__(self, bits: int = 16) -> None:
        self.bits = bits
        self.keys = np.zeros(1 << bits, dtype=np.uint64)
        self.checks = np.zeros(1 << bits, dtype=np.uint64)
        self.values = np.zeros(1 << bits, dtype=np.int32)
        self.count = 0

    def _slots(self, keys: Array) -> Array:
        with np.errstate(over="ignore"):
            return ((keys * _SPREAD) >> np.uint64(64 - self.bits)).astype(np.int64)

    def find(self, keys: Array, checks: Array) -> Array:
        """Each key's value; _MISSING if absent, _CLASH if stored with another check."""
        found = np.full(len(keys), _MISSING, dtype=np.int32)
        pending, slots, mask = np.arange(len(keys)), self._slots(keys), (1 << self.bits) - 1
        while len(pending):
            stored = self.keys[slots]
            hit = stored == keys[pending]
            at = slots[hit]
            same = self.checks[at] == checks[pending[hit]]
            found[pending[hit]] = np.where(same, self.values[at], _CLASH)
            going = ~hit & (stored != 0)
            pending, slots = pending[going], (slots[going] + 1) & mask
        return found

    def add(self, keys: Array, checks: Array, values: Array) -> None:
        """Store keys that are absent and distinct, growing the table to stay half empty."""
        if 2 * (self.count + len(keys)) > len(self.keys):
            self._grow(self.count + len(keys))
        pending, slots, mask = np.arange(len(keys)), self._slots(keys), (1 << self.bits) - 1
        while len(pending):
            free = np.flatnonzero(self.keys[slots] == 0)
            # One key per free slot a round; the others probe on, as do keys at taken slots.
            _, first = np.unique(slots[free], return_index=True)
            placed = free[first]
            at, which = slots[placed], pending[placed]
            self.keys[at], self.checks[at] = keys[which], checks[which]
            self.values[at] = values[which]
            going = np.ones(len(pending), dtype=bool)
            going[placed] = False
            pending, slots = pending[going], (slots[going] + 1) & mask
        self.count += len(keys)

    def _grow(self, needed: int) -> None:
        used = np.flatnonzero(self.keys)
        old = self.keys[used], self.checks[used], self.values[used]
        self.__init__(max(self.bits + 1, (2 * needed).bit_length()))  # type: ignore[misc]
        self.add(*old)


class HashedCodes:
    """Word key (hash salted by language) -> group code, for Engine.find_many. One thread at
    a time (a bulk scan's matcher runs in one worker thread or process)."""

    def __init__(self) -> None:
        self._table = KeyTable()
        self._codes: list[str] = []  # value -> code
        self._numbers: dict[str, int] = {}  # code -> value
        self._chars = np.zeros((0, 1), dtype=np.uint32)  # value -> the code's code points
        self._plain = np.zeros(0, dtype=bool)  # value -> one group (not the trie walk's value)
        self._lengths = np.zeros(0, dtype=np.int64)  # value -> code points of its code, but NULs

    def tokens(self, batch: BatchWords, modes: list[str], resolve: Resolve) -> list[str | None]:
        """Each text's words' group codes joined (what joined_codes() gives for it), or None
        for a text that find_many leaves to find(): a word of several groups (the trie walk),
        two words of one hash, or a word too long to hash (batch_words)."""
        if self._table.count > LIMIT:
            self.__init__()  # type: ignore[misc]
        first = batch.first
        salts = np.array([_SALTS[mode] for mode in modes], dtype=np.uint64)
        keys = batch.keys ^ np.repeat(salts, np.diff(first))
        keys[keys == 0] = 1  # 0 marks an empty slot; a word clashing with it is told by its check
        unique, picked, inverse, clash = _distinct(keys, batch.checks)
        values = self._table.find(unique, batch.checks[picked])
        missing = np.flatnonzero(values == _MISSING)
        if len(missing):
            values[missing] = self._resolve(batch, modes, unique[missing], picked[missing], resolve)
        clash |= values == _CLASH
        values = np.maximum(values, 0)
        per_word = values[inverse]
        chars = self._chars[per_word]
        bad = clash[inverse] | ~self._plain[per_word] | batch.oversized
        flat = chars.ravel()
        if self._chars.shape[1] > 1:  # codes of different widths: drop the padding
            flat = flat[flat != 0]
        joined = flat.tobytes().decode("utf-32-le")
        ends = np.zeros(len(per_word) + 1, dtype=np.int64)
        np.cumsum(self._lengths[per_word], out=ends[1:])
        cuts = ends[first].tolist()
        tokens: list[str | None] = [joined[a:b] for a, b in itertools.pairwise(cuts)]
        for i in set(_text_of(batch, np.flatnonzero(bad)).tolist()):
            tokens[i] = None
        return tokens

    def _resolve(
        self, batch: BatchWords, modes: list[str], keys: Array, where: Array, resolve: Resolve
    ) -> Array:
        """The values of words never seen (key k's word at offset where[k]), stored."""
        text_of: list[int] = _text_of(batch, where).tolist()
        starts, ends = batch.starts[where].tolist(), batch.ends[where].tolist()
        by_mode: dict[str, list[int]] = {}
        for n, i in enumerate(text_of):
            by_mode.setdefault(modes[i], []).append(n)
        values = np.zeros(len(where), dtype=np.int32)
        for mode, ns in by_mode.items():
            words = [batch.joined[starts[n] : ends[n]] for n in ns]
            values[ns] = [self._number(code) for code in resolve(words, mode)]
        self._table.add(keys, batch.checks[where], values)
        return values

    def _number(self, code: str) -> int:
        number = self._numbers.get(code)
        if number is None:
            number = self._numbers[code] = len(self._codes)
            self._codes.append(code)
            width = max(self._chars.shape[1], len(code))
            chars = np.zeros((len(self._codes), width), dtype=np.uint32)
            chars[:-1, : self._chars.shape[1]] = self._chars
            chars[-1, : len(code)] = [ord(c) for c in code]
            self._chars = chars
            self._plain = np.append(self._plain, "\x00" not in code)
            self._lengths = np.append(self._lengths, len(code) - code.count("\x00"))
        return number


def _text_of(batch: BatchWords, words: Array) -> Array:
    """The text each of these words (indexes) is in."""
    return np.searchsorted(batch.first, words, "right") - 1


def _distinct(keys: Array, checks: Array) -> tuple[Array, Array, Array, Array]:
    """np.unique(keys) with an index of one occurrence each and the inverse, by one
    (unstable, so fast) sort; and per distinct key whether its words differ in `checks`."""
    order = np.argsort(keys)
    ordered = keys[order]
    starts = np.ones(len(keys), dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    group = np.cumsum(starts) - 1
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = group
    differ = np.zeros(len(keys), dtype=bool)
    differ[1:] = ~starts[1:] & (checks[order][1:] != checks[order][:-1])
    clash = np.zeros(int(group[-1]) + 1 if len(keys) else 0, dtype=bool)
    clash[group[differ]] = True
    return ordered[starts], order[starts], inverse, clash
