"""Evaluate boolean and NEAR terms over the phrase occurrences found in one post.

An occurrence is (first word index, last word index). Evaluation returns the *evidence* of a
match, the earliest occurrence of a positive phrase that made it true (what the digest bolds),
NO_EVIDENCE for a part that is true without words (NOT x, when x is absent), or None when the
part is false.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

from bot.rules.syntax import And, Near, Node, Not, Or, Phrase, Regex

Occurrence = tuple[int, int]
NO_EVIDENCE: Final = (-1, -1)
Occurrences = Callable[[Phrase], list[Occurrence]]


def evaluate(node: Node, occurrences: Occurrences) -> Occurrence | None:
    if isinstance(node, Phrase):
        found = occurrences(node)
        return found[0] if found else None
    if isinstance(node, Not):
        return NO_EVIDENCE if evaluate(node.item, occurrences) is None else None
    if isinstance(node, Near):
        return near_evidence(node, occurrences)
    if isinstance(node, And):
        results = []
        for item in node.items:
            result = evaluate(item, occurrences)
            if result is None:
                return None
            results.append(result)
        return _earliest(results)
    if isinstance(node, Or):
        matched = [r for r in (evaluate(i, occurrences) for i in node.items) if r is not None]
        return _earliest(matched) if matched else None
    assert not isinstance(node, Regex), "regex terms are matched on their own"
    raise TypeError(node)


def _earliest(results: list[Occurrence]) -> Occurrence:
    real = [r for r in results if r != NO_EVIDENCE]
    return min(real) if real else NO_EVIDENCE


def near_evidence(node: Near, occurrences: Occurrences) -> Occurrence | None:
    """The earliest occurrence of either phrase that has the other within the distance."""
    best: Occurrence | None = None
    for first, second in near_pairs(node, occurrences):
        candidate = min(first, second)
        if best is None or candidate < best:
            best = candidate
    return best


def near_pairs(node: Near, occurrences: Occurrences) -> Iterator[tuple[Occurrence, Occurrence]]:
    seconds = occurrences(node.second)
    for first in occurrences(node.first):
        for second in seconds:
            if gap(first, second) <= node.distance:
                yield first, second


def gap(first: Occurrence, second: Occurrence) -> int:
    """Words strictly between two occurrences; 0 when they touch or overlap."""
    if first[1] < second[0]:
        return second[0] - first[1] - 1
    if second[1] < first[0]:
        return first[0] - second[1] - 1
    return 0


def positive_phrases(node: Node) -> Iterator[Phrase]:
    """Phrases whose occurrence can be a match's evidence (not under NOT)."""
    if isinstance(node, Phrase):
        yield node
    elif isinstance(node, Near):
        yield node.first
        yield node.second
    elif isinstance(node, And | Or):
        for item in node.items:
            yield from positive_phrases(item)


def all_phrases(node: Node) -> Iterator[Phrase]:
    if isinstance(node, Phrase):
        yield node
    elif isinstance(node, Near):
        yield node.first
        yield node.second
    elif isinstance(node, Not):
        yield from all_phrases(node.item)
    elif isinstance(node, And | Or):
        for item in node.items:
            yield from all_phrases(item)
