"""Find framing terms in posts: the public face of the rule engine (see engine.py for how).

The rest of the bot sees TermRule, Hit, Matcher, compile_matcher and the term checks, so the
engine behind them can change without touching callers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from bot.rules.engine import Engine
from bot.rules.regex import compile_pattern
from bot.rules.scanner import as_hits
from bot.rules.syntax import Regex, TermError, clean, has_evidence, parse, render

MAX_TERM_LENGTH = 200

__all__ = [
    "MAX_TERM_LENGTH",
    "Hit",
    "Matcher",
    "TermError",
    "TermRule",
    "check_term",
    "compile_matcher",
    "term_key",
]


@dataclass(frozen=True, slots=True)
class TermRule:
    """A term of a framing, as stored: several framings may share the same text."""

    term_id: int
    framing_id: int
    text: str


class Hit(NamedTuple):
    """One occurrence of a term in the original post text, text[start:end].

    For a phrase term (or regex term) every occurrence is a hit, from its first word to its
    last. A boolean or NEAR term gives one hit per post: the span of its earliest positive
    phrase occurrence that made it match, so the digest can bold it. A named tuple (immutable,
    ordered, cheap to create: find() may return many).
    """

    term_id: int
    framing_id: int
    start: int
    end: int


class Matcher(Protocol):
    def find(self, text: str) -> list[Hit]:
        """All hits in text, overlapping ones included, ordered by (start, term_id)."""
        ...

    def find_many(self, texts: Sequence[str]) -> list[list[Hit]]:
        """find() of each text: the same hits, done for the batch at once (bulk scans)."""
        ...


class RuleMatcher:
    """All terms compiled together; find() is thread-safe (see engine.Engine)."""

    def __init__(self, rules: Iterable[TermRule]) -> None:
        self.engine = Engine((rule.term_id, rule.framing_id, rule.text) for rule in rules)

    def find(self, text: str) -> list[Hit]:
        # as_hits() reorders the engine's (start, term, framing, end) into Hits in C; Hit(...)
        # would call Python code per hit.
        return as_hits(self.engine.find(text), Hit)

    def find_many(self, texts: Sequence[str]) -> list[list[Hit]]:
        return [as_hits(raw, Hit) for raw in self.engine.find_many(texts)]


def compile_matcher(rules: Iterable[TermRule]) -> RuleMatcher:
    """One matcher for all rules; rules whose text cannot match anything are skipped."""
    return RuleMatcher(rules)


def check_term(text: str, max_length: int = MAX_TERM_LENGTH) -> str:
    """The term as it will be stored (whitespace collapsed), or TermError saying what to fix."""
    cleaned = clean(text)
    if not cleaned:
        raise TermError("The term is empty. Send at least one word.")
    if len(cleaned) > max_length:
        raise TermError(
            f"The term is {len(cleaned)} characters long; the limit is {max_length}. "
            "Send a shorter phrase."
        )
    node = parse(cleaned)
    if isinstance(node, Regex):
        compile_pattern(node.pattern)
    elif not has_evidence(node):
        raise TermError(
            "The term could match a post without finding any of its words (through NOT): "
            "say what to look for too, e.g. жест доброй воли AND NOT цитата."
        )
    return cleaned


def term_key(text: str) -> str:
    """Canonical form of a term: equal keys mean the terms match the same posts.

    A phrase's key is its normalised words joined by one space ("жест доброй воли"); quoted
    words keep their quotes, operators are upper-case and groups parenthesised. A term that
    does not parse keys as its cleaned text.
    """
    cleaned = clean(text)
    try:
        return render(parse(cleaned))
    except TermError:
        return cleaned
