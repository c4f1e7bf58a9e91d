"""The tree of a parsed term (see syntax.py), and what can be said of a tree alone."""

from __future__ import annotations

import enum
from dataclasses import dataclass

REGEX_PREFIX = "re:"


class WordKind(enum.Enum):
    LEMMA = "lemma"  # bare word: any inflected form
    EXACT = "exact"  # quoted word: this form only
    PREFIX = "prefix"  # word*: any word starting with it


@dataclass(frozen=True, slots=True)
class Word:
    kind: WordKind
    text: str  # normalised


@dataclass(frozen=True, slots=True)
class Phrase:
    words: tuple[Word, ...]


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class Near:
    distance: int
    first: Phrase
    second: Phrase


@dataclass(frozen=True, slots=True)
class Regex:
    pattern: str


Node = Phrase | And | Or | Not | Near | Regex


def has_evidence(node: Node) -> bool:
    """Whether every match of node comes with words found in the post (not only a NOT)."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(has_evidence(item) for item in node.items)
    if isinstance(node, Or):
        return all(has_evidence(item) for item in node.items)
    return True


def render(node: Node, top: bool = True) -> str:
    """A canonical text of the tree: equal renderings mean the terms match the same posts."""
    if isinstance(node, Regex):
        return REGEX_PREFIX + node.pattern
    if isinstance(node, Phrase):
        return _render_phrase(node)
    if isinstance(node, Near):
        first, second = _render_phrase(node.first), _render_phrase(node.second)
        return f"NEAR/{node.distance}({first}, {second})"
    if isinstance(node, Not):
        return "NOT " + render(node.item, top=False)
    joiner = " AND " if isinstance(node, And) else " OR "
    text = joiner.join(render(item, top=False) for item in node.items)
    return text if top else f"({text})"


def _render_phrase(phrase: Phrase) -> str:
    parts: list[str] = []
    quoted: list[str] = []
    for word in phrase.words:
        if word.kind is WordKind.EXACT:
            quoted.append(word.text)
            continue
        if quoted:
            parts.append('"' + " ".join(quoted) + '"')
            quoted = []
        parts.append(word.text + ("*" if word.kind is WordKind.PREFIX else ""))
    if quoted:
        parts.append('"' + " ".join(quoted) + '"')
    return " ".join(parts)
