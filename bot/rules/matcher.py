"""Find terms in posts: a term matches where its words appear consecutively in the post.

The rest of the bot sees only Matcher and compile_matcher, so the phrase matcher here can be
swapped for the lemma-based Aho-Corasick engine without touching callers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.rules.normalize import Token, tokenize

MAX_TERM_LENGTH = 200


@dataclass(frozen=True, slots=True)
class TermRule:
    """A term of a framing, as stored: several framings may share the same text."""

    term_id: int
    framing_id: int
    text: str


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a term: text[start:end] runs from its first word to its last."""

    term_id: int
    framing_id: int
    start: int
    end: int


class Matcher(Protocol):
    def find(self, text: str) -> list[Hit]:
        """All hits in text, overlapping ones included, ordered by (start, term_id)."""
        ...


class TermError(ValueError):
    """A term a moderator typed cannot be used; the message says what to change."""


def check_term(text: str, max_length: int = MAX_TERM_LENGTH) -> str:
    """The term with whitespace collapsed and stripped, or TermError saying what is wrong."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise TermError("The term is empty. Send at least one word.")
    if len(cleaned) > max_length:
        raise TermError(
            f"The term is {len(cleaned)} characters long; the limit is {max_length}. "
            "Send a shorter phrase."
        )
    if not tokenize(cleaned):
        raise TermError("The term has no letters or digits. Send at least one word.")
    return cleaned


def term_key(text: str) -> str:
    """The normalised words of a term joined by one space: equal keys mean duplicate terms."""
    return " ".join(token.norm for token in tokenize(text))


@dataclass(frozen=True, slots=True)
class _Phrase:
    """The normalised words of one term text and every rule that uses that text."""

    words: tuple[str, ...]
    rules: list[TermRule]


class PhraseMatcher:
    """Exact-word-form phrase matcher, indexed by each phrase's first word.

    A post is walked once; at each word only the phrases starting with that word are
    compared, so the cost stays near O(words in the post) even with thousands of terms.
    """

    def __init__(self, rules: Iterable[TermRule]) -> None:
        self._by_first_word: dict[str, list[_Phrase]] = {}
        phrases: dict[tuple[str, ...], _Phrase] = {}
        for rule in rules:
            words = tuple(token.norm for token in tokenize(rule.text))
            if not words:  # nothing could ever match it; check_term keeps such terms out
                continue
            phrase = phrases.get(words)
            if phrase is None:
                phrase = phrases[words] = _Phrase(words, [])
                self._by_first_word.setdefault(words[0], []).append(phrase)
            phrase.rules.append(rule)

    def find(self, text: str) -> list[Hit]:
        tokens = tokenize(text)
        hits: list[Hit] = []
        for index, token in enumerate(tokens):
            for phrase in self._by_first_word.get(token.norm, ()):
                if _matches_at(tokens, index, phrase.words):
                    hits.extend(_hits(phrase, token, tokens[index + len(phrase.words) - 1]))
        # The walk already yields hits by start; the sort orders hits that share a start.
        hits.sort(key=lambda hit: (hit.start, hit.term_id, hit.framing_id))
        return hits


def compile_matcher(rules: Iterable[TermRule]) -> Matcher:
    """A matcher for these rules; rules whose text has no words are skipped."""
    return PhraseMatcher(rules)


def _matches_at(tokens: Sequence[Token], index: int, words: tuple[str, ...]) -> bool:
    # The first word already matched through the index.
    if index + len(words) > len(tokens):
        return False
    return all(tokens[index + offset].norm == words[offset] for offset in range(1, len(words)))


def _hits(phrase: _Phrase, first: Token, last: Token) -> list[Hit]:
    return [Hit(rule.term_id, rule.framing_id, first.start, last.end) for rule in phrase.rules]
