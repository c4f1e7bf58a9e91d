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

from collections.abc import Callable

from bot.rules.lexer import Kind, TermError, Token, lex
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

MAX_NESTING = 20  # brackets and NOTs inside each other; deeper would exhaust Python's stack


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
    tokens = lex(term)
    if not tokens:
        raise TermError("The term has no letters or digits. Send at least one word.")
    parser = _Parser(tokens)
    node = parser.expression()
    parser.finish()
    return node


class _Parser:
    """Recursive descent: OR binds loosest, then AND, then NOT; phrases are juxtaposed words."""

    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._depth = 0

    def _peek(self) -> Token | None:
        return self._tokens[self._index] if self._index < len(self._tokens) else None

    def _take(self) -> Token:
        token = self._tokens[self._index]
        self._index += 1
        return token

    def finish(self) -> None:
        token = self._peek()
        if token is None:
            return
        if token.kind is Kind.RPAREN:
            raise TermError(f") at position {token.position} has no matching (.")
        raise _missing_operator(token)

    def expression(self) -> Node:
        return self._binary(Kind.OR, self._and)

    def _and(self) -> Node:
        return self._binary(Kind.AND, self._unary)

    def _binary(self, kind: Kind, parse_operand: Callable[[], Node]) -> Node:
        items = [self._operand_after(None, parse_operand)]
        while (token := self._peek()) is not None and token.kind is kind:
            self._take()
            items.append(self._operand_after(token, parse_operand))
        if len(items) == 1:
            return items[0]
        return Or(tuple(items)) if kind is Kind.OR else And(tuple(items))

    def _operand_after(self, operator: Token | None, parse_operand: Callable[[], Node]) -> Node:
        token = self._peek()
        if token is None or token.kind in (Kind.RPAREN, Kind.COMMA, Kind.AND, Kind.OR):
            if operator is not None:
                raise TermError(
                    f"{operator.text} at position {operator.position} needs something after it."
                )
            if token is not None and token.kind in (Kind.AND, Kind.OR):
                raise TermError(
                    f"{token.text} at position {token.position} needs something before it."
                )
        return parse_operand()

    def _unary(self) -> Node:
        token = self._peek()
        if token is not None and token.kind is Kind.NOT:
            self._take()
            following = self._peek()
            if following is None or following.kind in (
                Kind.RPAREN,
                Kind.COMMA,
                Kind.AND,
                Kind.OR,
            ):
                raise TermError(f"NOT at position {token.position} needs something after it.")
            return Not(self._nested(token, self._unary))
        return self._primary()

    def _nested(self, opening: Token, parse: Callable[[], Node]) -> Node:
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
        if token.kind is Kind.LPAREN:
            return self._group()
        if token.kind is Kind.NEAR:
            return self._near()
        if token.kind in (Kind.TEXT, Kind.QUOTED):
            return self._phrase()
        if token.kind is Kind.RPAREN:
            raise TermError(f") at position {token.position} has no matching (.")
        raise TermError(f"{token.text} at position {token.position} is not expected here.")

    def _group(self) -> Node:
        opening = self._take()
        following = self._peek()
        if following is not None and following.kind is Kind.RPAREN:
            raise TermError(
                f"The ( at position {opening.position} is empty: put words or a condition inside."
            )
        node = self._nested(opening, self.expression)
        closing = self._peek()
        if closing is None:
            raise TermError(f"The ( at position {opening.position} is never closed: add ).")
        if closing.kind is not Kind.RPAREN:
            raise _missing_operator(closing)
        self._take()
        return node

    def _phrase(self) -> Phrase:
        words: list[Word] = []
        while (token := self._peek()) is not None and token.kind in (Kind.TEXT, Kind.QUOTED):
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
        for separator in (Kind.COMMA, Kind.RPAREN):
            token = self._peek()
            if token is None or token.kind not in (Kind.TEXT, Kind.QUOTED):
                raise TermError(usage)
            phrases.append(self._phrase())
            token = self._peek()
            if token is None or token.kind is not separator:
                raise TermError(usage)
            self._take()
        return Near(near.distance, phrases[0], phrases[1])


def _missing_operator(token: Token) -> TermError:
    if token.kind is Kind.NOT:
        return TermError(
            f"NOT at position {token.position} must follow AND or OR: write a AND NOT b."
        )
    return TermError(
        f"Put AND or OR before {token.text!r} at position {token.position}: words written "
        "next to each other form one phrase, but a group, NEAR or NOT needs an operator."
    )
