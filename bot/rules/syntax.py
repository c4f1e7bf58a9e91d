"""The term language: parse what a moderator typed into a tree, or say what to fix and where.

| form                     | meaning                                                        |
|--------------------------|----------------------------------------------------------------|
| жест доброй воли         | these words in this order, each in any inflected form (lemmas) |
| "жест доброй воли"       | these exact word forms                                         |
| отступ*                  | any word starting with отступ                                  |
| a AND b, a OR b, NOT a   | boolean combination within one post; ( ) group                 |
| NEAR/5(a, b)             | both phrases with at most 5 words between them                 |
| re:<pattern>             | a regular expression (RE2), the whole term                     |

Operators are upper-case words; quoted and bare words written next to each other form one
phrase (not AND). Positions in messages are 1-based characters of the cleaned term.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.rules.normalize import tokenize
from bot.rules.tree import (
    REGEX_PREFIX,
    And,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Regex,
    Word,
    WordKind,
    has_evidence,
    render,
)

__all__ = [
    "REGEX_PREFIX",
    "And",
    "Near",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Regex",
    "TermError",
    "Word",
    "WordKind",
    "clean",
    "has_evidence",
    "parse",
    "render",
]

QUOTES = frozenset('"“”„«»')
DEFAULT_NEAR = 10
MAX_NEAR = 50
MIN_PREFIX = 2
MAX_NESTING = 20  # brackets and NOTs inside each other; deeper would exhaust Python's stack
_NEAR = re.compile(r"NEAR(?:/(\d+))?")
_SPECIAL = QUOTES | frozenset("(),")


class TermError(ValueError):
    """A term a moderator typed cannot be used; the message says what to change."""


class _Kind(enum.Enum):
    TEXT = enum.auto()
    QUOTED = enum.auto()
    LPAREN = enum.auto()
    RPAREN = enum.auto()
    COMMA = enum.auto()
    AND = enum.auto()
    OR = enum.auto()
    NOT = enum.auto()
    NEAR = enum.auto()


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    text: str
    position: int  # 1-based
    words: tuple[Word, ...] = ()
    distance: int = 0


_OPERATORS = {"AND": _Kind.AND, "OR": _Kind.OR, "NOT": _Kind.NOT}
_PUNCTUATION = {"(": _Kind.LPAREN, ")": _Kind.RPAREN, ",": _Kind.COMMA}


def clean(text: str) -> str:
    """The term as stored: whitespace collapsed (a regex keeps its inner whitespace)."""
    stripped = text.strip()
    if stripped.startswith(REGEX_PREFIX):
        return stripped
    return " ".join(text.split())


def parse(term: str) -> Node:
    """The tree of a cleaned term, or TermError naming the problem and its position."""
    if term.startswith(REGEX_PREFIX):
        return Regex(term[len(REGEX_PREFIX) :])
    tokens = _lex(term)
    if not tokens:
        raise TermError("The term has no letters or digits. Send at least one word.")
    parser = _Parser(tokens)
    node = parser.expression()
    parser.finish()
    return node


def _lex(term: str) -> list[_Token]:
    tokens: list[_Token] = []
    groups: list[bool] = []  # for each open "(": whether it opened a NEAR (commas separate)
    index = 0
    while index < len(term):
        char = term[index]
        if char.isspace():
            index += 1
        elif char in _PUNCTUATION:
            _lex_punctuation(char, index + 1, tokens, groups)
            index += 1
        elif char in QUOTES:
            index = _lex_quoted(term, index, tokens)
        else:
            index = _lex_text(term, index, tokens)
    return tokens


def _lex_punctuation(char: str, position: int, tokens: list[_Token], groups: list[bool]) -> None:
    if char == "(":
        groups.append(bool(tokens) and tokens[-1].kind is _Kind.NEAR)
    elif char == ")" and groups:
        groups.pop()
    elif char == "," and not (groups and groups[-1]):
        return  # outside NEAR( ) a comma is punctuation between words, which means nothing
    tokens.append(_Token(_PUNCTUATION[char], char, position))


def _lex_quoted(term: str, index: int, tokens: list[_Token]) -> int:
    end = next((i for i in range(index + 1, len(term)) if term[i] in QUOTES), -1)
    if end < 0:
        raise TermError(
            f"The quote at position {index + 1} is never closed: add a closing quote "
            "after the exact words."
        )
    inner = term[index + 1 : end]
    words = _words(inner, WordKind.EXACT, index + 2)
    if not words:
        raise TermError(f"The quotes at position {index + 1} hold no words: put words inside.")
    tokens.append(_Token(_Kind.QUOTED, inner, index + 1, words))
    return end + 1


def _lex_text(term: str, index: int, tokens: list[_Token]) -> int:
    end = index
    while end < len(term) and not term[end].isspace() and term[end] not in _SPECIAL:
        end += 1
    chunk = term[index:end]
    position = index + 1
    near = _NEAR.fullmatch(chunk)
    if chunk in _OPERATORS:
        tokens.append(_Token(_OPERATORS[chunk], chunk, position))
    elif near and term[end:].lstrip().startswith("("):
        tokens.append(_Token(_Kind.NEAR, chunk, position, distance=_near_distance(near, position)))
    else:
        words = _words(chunk, WordKind.LEMMA, position)
        if words:  # punctuation between words is allowed and means nothing
            tokens.append(_Token(_Kind.TEXT, chunk, position, words))
    return end


def _near_distance(near: re.Match[str], position: int) -> int:
    if near.group(1) is None:
        return DEFAULT_NEAR
    distance = int(near.group(1))
    if not 1 <= distance <= MAX_NEAR:
        raise TermError(
            f"NEAR at position {position}: the distance must be 1 to {MAX_NEAR} words, "
            "as in NEAR/5(first phrase, second phrase)."
        )
    return distance


def _words(chunk: str, kind: WordKind, position: int) -> tuple[Word, ...]:
    """The words of a chunk; a * right after the last word makes that word a prefix."""
    star = chunk.find("*")
    tokens = tokenize(chunk)
    if star < 0:
        return tuple(Word(kind, token.norm) for token in tokens)
    body = chunk.rstrip("*")
    if "*" in body or not tokens or tokens[-1].end != len(body):
        raise TermError(
            f"The * at position {position + star} must end a word, as in отступ* "
            "(any word starting with отступ)."
        )
    if len(tokens[-1].norm) < MIN_PREFIX:
        raise TermError(
            f"The prefix at position {position + tokens[-1].start} is too short: give at least "
            f"{MIN_PREFIX} letters before *."
        )
    words = [Word(kind, token.norm) for token in tokens[:-1]]
    return (*words, Word(WordKind.PREFIX, tokens[-1].norm))


class _Parser:
    """Recursive descent: OR binds loosest, then AND, then NOT; phrases are juxtaposed words."""

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._depth = 0

    def _peek(self) -> _Token | None:
        return self._tokens[self._index] if self._index < len(self._tokens) else None

    def _take(self) -> _Token:
        token = self._tokens[self._index]
        self._index += 1
        return token

    def finish(self) -> None:
        token = self._peek()
        if token is None:
            return
        if token.kind is _Kind.RPAREN:
            raise TermError(f") at position {token.position} has no matching (.")
        raise _missing_operator(token)

    def expression(self) -> Node:
        return self._binary(_Kind.OR, self._and)

    def _and(self) -> Node:
        return self._binary(_Kind.AND, self._unary)

    def _binary(self, kind: _Kind, parse_operand: Callable[[], Node]) -> Node:
        items = [self._operand_after(None, parse_operand)]
        while (token := self._peek()) is not None and token.kind is kind:
            self._take()
            items.append(self._operand_after(token, parse_operand))
        if len(items) == 1:
            return items[0]
        return Or(tuple(items)) if kind is _Kind.OR else And(tuple(items))

    def _operand_after(self, operator: _Token | None, parse_operand: Callable[[], Node]) -> Node:
        token = self._peek()
        if token is None or token.kind in (_Kind.RPAREN, _Kind.COMMA, _Kind.AND, _Kind.OR):
            if operator is not None:
                raise TermError(
                    f"{operator.text} at position {operator.position} needs something after it."
                )
            if token is not None and token.kind in (_Kind.AND, _Kind.OR):
                raise TermError(
                    f"{token.text} at position {token.position} needs something before it."
                )
        return parse_operand()

    def _unary(self) -> Node:
        token = self._peek()
        if token is not None and token.kind is _Kind.NOT:
            self._take()
            following = self._peek()
            if following is None or following.kind in (
                _Kind.RPAREN,
                _Kind.COMMA,
                _Kind.AND,
                _Kind.OR,
            ):
                raise TermError(f"NOT at position {token.position} needs something after it.")
            return Not(self._nested(token, self._unary))
        return self._primary()

    def _nested(self, opening: _Token, parse: Callable[[], Node]) -> Node:
        if self._depth >= MAX_NESTING:
            raise TermError(
                f"{opening.text} at position {opening.position} is nested more than "
                f"{MAX_NESTING} deep: write the term more simply."
            )
        self._depth += 1
        node = parse()
        self._depth -= 1
        return node

    def _primary(self) -> Node:
        token = self._peek()
        if token is None:
            raise TermError("The term ends where words were expected.")
        if token.kind is _Kind.LPAREN:
            return self._group()
        if token.kind is _Kind.NEAR:
            return self._near()
        if token.kind in (_Kind.TEXT, _Kind.QUOTED):
            return self._phrase()
        if token.kind is _Kind.RPAREN:
            raise TermError(f") at position {token.position} has no matching (.")
        raise TermError(f"{token.text} at position {token.position} is not expected here.")

    def _group(self) -> Node:
        opening = self._take()
        following = self._peek()
        if following is not None and following.kind is _Kind.RPAREN:
            raise TermError(
                f"The ( at position {opening.position} is empty: put words or a condition inside."
            )
        node = self._nested(opening, self.expression)
        closing = self._peek()
        if closing is None:
            raise TermError(f"The ( at position {opening.position} is never closed: add ).")
        if closing.kind is not _Kind.RPAREN:
            raise _missing_operator(closing)
        self._take()
        return node

    def _phrase(self) -> Phrase:
        words: list[Word] = []
        while (token := self._peek()) is not None and token.kind in (_Kind.TEXT, _Kind.QUOTED):
            words.extend(self._take().words)
        return Phrase(tuple(words))

    def _near(self) -> Near:
        near = self._take()
        usage = (
            f"NEAR at position {near.position}: write {near.text}(first phrase, second phrase), "
            "two phrases separated by a comma."
        )
        self._take()  # the lexer only makes NEAR a keyword when "(" follows
        phrases = []
        for separator in (_Kind.COMMA, _Kind.RPAREN):
            token = self._peek()
            if token is None or token.kind not in (_Kind.TEXT, _Kind.QUOTED):
                raise TermError(usage)
            phrases.append(self._phrase())
            token = self._peek()
            if token is None or token.kind is not separator:
                raise TermError(usage)
            self._take()
        return Near(near.distance, phrases[0], phrases[1])


def _missing_operator(token: _Token) -> TermError:
    if token.kind is _Kind.NOT:
        return TermError(
            f"NOT at position {token.position} must follow AND or OR: write a AND NOT b."
        )
    return TermError(
        f"Put AND or OR before {token.text!r} at position {token.position}: words written "
        "next to each other form one phrase, but a group, NEAR or NOT needs an operator."
    )
