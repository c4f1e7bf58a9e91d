"""Find every phrase pattern in a post: Aho-Corasick over word *groups*, then a cheap check.

A phrase pattern has one class character per word (bot.rules.vocabulary). A post word may,
though, satisfy several classes ("его" is a form of он, оно and его; "стали" of стать and
сталь), and an automaton reads one character per position. So classes that some word can
satisfy together are merged into a *group* (union-find over every value that dictionary
forms, quoted words and prefixes can produce, computed at compile time). Each post word then
stands for one group character, the automaton searches the group string of the post in C,
and finds all phrases of all terms at once. A phrase position whose group holds more than
one class is then checked against the word's own classes (most positions need no check).

A word whose classes fall into several groups (possible only for values not seen at compile
time, e.g. from guessed lemmas) makes that post use a trie walk over the class characters
instead. Both ways find the same occurrences; only speed differs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import ahocorasick

from bot.rules.scanner import Check, Entry, Extra, Owner
from bot.rules.vocabulary import FILLER, MODE_LANGUAGES, Vocabulary

_BASE = 16
_CODE_BASE = 0x100
Occurrences = list[tuple[int, int, int]]  # (phrase id, first word, last word)
# The caller's fields of an automaton value (its plain owners and Extra), from its plain and
# checked phrase ids.
Payload = Callable[
    [tuple[int, ...], tuple[tuple[int, Check], ...]], tuple[tuple[Owner, ...], Extra | None]
]


@dataclass(frozen=True, slots=True)
class Search:
    automaton: Any  # pyahocorasick: joined group codes -> Entry
    trie: dict[str, Any]
    code_of: dict[str, str]  # class character -> the code of its group
    width: int  # characters per code

    def group_value(self, value: str) -> str:
        """The group code of a word's class characters.

        A word whose classes fall into several groups gets a value longer than a code, so the
        post's joined string has the wrong length and occurrences() walks the trie instead.
        """
        if value == FILLER:
            return self.code_of[FILLER]
        codes = {self.code_of[char] for char in value}
        return codes.pop() if len(codes) == 1 else "\x00" * (self.width + 1) + value

    def occurrences(
        self, groups: list[str], words: list[str], classes: Callable[[str], str]
    ) -> Occurrences:
        """Phrase occurrences, given each word's group code and a way to get a word's classes.

        For explain() and tests: find() gets its hits from the same values faster.
        """
        if any(len(group) != self.width for group in groups):
            return self.walk([classes(word) for word in words])
        found: Occurrences = []
        entry: Entry
        for end, entry in self.automaton.iter("".join(groups)):
            length, plain, checks, _, _ = entry
            last = end // self.width
            first = last - length + 1
            found.extend((pid, first, last) for pid in plain)
            for pid, check in checks:
                if all(char in classes(words[first + offset]) for offset, char in check):
                    found.append((pid, first, last))
        return found

    def walk(self, values: list[str]) -> Occurrences:
        """All phrase occurrences by walking the trie from every word, trying each class."""
        found: Occurrences = []
        count = len(values)
        for first in range(count):
            if values[first] == FILLER:
                continue
            frontier = [self.trie]
            last = first
            while frontier and last < count:
                following = []
                for node in frontier:
                    for char in values[last]:
                        child = node.get(char)
                        if child is not None:
                            following.append(child)
                            found.extend((pid, first, last) for pid in child.get("", ()))
                frontier = following
                last += 1
        return found


def build_searches(
    vocabulary: Vocabulary, patterns: dict[str, int], payload: Payload
) -> dict[str, Search]:
    """One search per mode (post language): groups differ, since a Russian post's words carry
    no Ukrainian lemmas, and merging them would put a check on almost every phrase.

    Each search's automaton maps the joined group codes of every pattern to its Entry: the
    words in the pattern, its phrase ids that need no check, (phrase id, check) pairs, and
    payload(those two), the caller's fields that let it act on a match without looking the
    phrase ids up (see Engine.find and scanner.collect).
    """
    if not patterns:
        return {}
    trie = _trie(patterns)
    chars = {char for pattern in patterns for char in pattern}
    special = vocabulary.special_words()
    return {
        mode: _build(
            patterns, trie, _groups(chars, _known_values(vocabulary, languages, special)), payload
        )
        for mode, languages in MODE_LANGUAGES.items()
    }


def _build(
    patterns: dict[str, int], trie: dict[str, Any], group_of: dict[str, str], payload: Payload
) -> Search:
    members: dict[str, int] = {}
    for group in group_of.values():
        members[group] = members.get(group, 0) + 1
    numbers = {group: number for number, group in enumerate(sorted(members), start=1)}
    width = 1
    while _BASE**width <= len(numbers):  # codes for every group number and FILLER's 0
        width += 1
    code_of = {char: _code(numbers[group], width) for char, group in group_of.items()}
    code_of[FILLER] = _code(0, width)
    keys: dict[str, list[tuple[int, Check]]] = {}
    for pattern, pid in patterns.items():
        check = tuple(
            (offset, char) for offset, char in enumerate(pattern) if members[group_of[char]] > 1
        )
        keys.setdefault("".join(code_of[char] for char in pattern), []).append((pid, check))
    automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
    for key, entries in keys.items():
        # Patterns needing no check apart, so most matches need no check at all.
        plain = tuple(pid for pid, check in entries if not check)
        checked = tuple((pid, check) for pid, check in entries if check)
        entry: Entry = (len(key) // width, plain, checked, *payload(plain, checked))
        automaton.add_word(key, entry)
    automaton.make_automaton()
    return Search(automaton, trie, code_of, width)


def _code(number: int, width: int) -> str:
    """A group number as width base-16 digits, each digit position with its own characters.

    pyahocorasick finds a node's child by a linear scan, so a large alphabet (thousands of
    groups) makes every step slow; 16 characters per step keep it fast. Distinct characters
    per digit position mean a pattern can only match starting at a code boundary.
    """
    digits = []
    for position in range(width):
        digits.append(chr(_CODE_BASE + position * _BASE + number % _BASE))
        number //= _BASE
    return "".join(reversed(digits))


def _trie(patterns: dict[str, int]) -> dict[str, Any]:
    trie: dict[str, Any] = {}
    for pattern, pid in patterns.items():
        node = trie
        for char in pattern:
            node = node.setdefault(char, {})
        node.setdefault("", []).append(pid)  # "" is never a class character
    return trie


def _groups(chars: set[str], values: Iterable[str]) -> dict[str, str]:
    """Union-find: classes that one word can satisfy together share a group.

    A group is named by its smallest class character.
    """
    parent = {char: char for char in chars}

    def root(char: str) -> str:
        while parent[char] != char:
            parent[char] = parent[parent[char]]
            char = parent[char]
        return char

    for value in values:
        if len(value) > 1:
            roots = sorted({root(char) for char in value})
            for other in roots[1:]:
                parent[other] = roots[0]
    return {char: root(char) for char in chars}


def _known_values(
    vocabulary: Vocabulary, languages: tuple[str, ...], special: set[str]
) -> Iterable[str]:
    """The class characters of every word the terms make known, for one mode."""
    forms = [vocabulary.forms[language] for language in languages]
    seen: set[tuple[int, ...]] = set()
    for word in set().union(*forms):
        if word in special:
            continue
        symbols = tuple(s for table in forms for s in table.get(word, ()))
        if symbols not in seen:  # many forms share their lemmas
            seen.add(symbols)
            yield vocabulary.value_of(symbols)
    for word in special:
        yield vocabulary.value_of(vocabulary.post_symbols(word, languages))
    for chain in vocabulary.prefix_chains():
        yield vocabulary.value_of(chain)
