"""The term language's lexer: a cleaned term as tokens (words, quoted words, brackets,
operators, NEAR with its distance), or TermError naming the problem and its position.
The parser (syntax.py) builds the tree from these tokens."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from bot.rules.normalize import tokenize
from bot.rules.tree import Word, WordKind

QUOTES = frozenset('"“”„«»')
DEFAULT_NEAR = 10
MAX_NEAR = 50
MIN_PREFIX = 2
_NEAR = re.compile(r"NEAR(?:/(\d+))?")
_SPECIAL = QUOTES | frozenset("(),")


class TermError(ValueError):
    """A term a moderator typed cannot be used; the message says what to change."""


class Kind(enum.Enum):
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
class Token:
    kind: Kind
    text: str
    position: int  # 1-based
    words: tuple[Word, ...] = ()
    distance: int = 0


_OPERATORS = {"AND": Kind.AND, "OR": Kind.OR, "NOT": Kind.NOT}
_PUNCTUATION = {"(": Kind.LPAREN, ")": Kind.RPAREN, ",": Kind.COMMA}


def lex(term: str) -> list[Token]:
    tokens: list[Token] = []
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


def _lex_punctuation(char: str, position: int, tokens: list[Token], groups: list[bool]) -> None:
    if char == "(":
        groups.append(bool(tokens) and tokens[-1].kind is Kind.NEAR)
    elif char == ")" and groups:
        groups.pop()
    elif char == "," and not (groups and groups[-1]):
        return  # outside NEAR( ) a comma is punctuation between words, which means nothing
    tokens.append(Token(_PUNCTUATION[char], char, position))


def _lex_quoted(term: str, index: int, tokens: list[Token]) -> int:
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
    tokens.append(Token(Kind.QUOTED, inner, index + 1, words))
    return end + 1


def _lex_text(term: str, index: int, tokens: list[Token]) -> int:
    end = index
    while end < len(term) and not term[end].isspace() and term[end] not in _SPECIAL:
        end += 1
    chunk = term[index:end]
    position = index + 1
    near = _NEAR.fullmatch(chunk)
    if chunk in _OPERATORS:
        tokens.append(Token(_OPERATORS[chunk], chunk, position))
    elif near and term[end:].lstrip().startswith("("):
        tokens.append(Token(Kind.NEAR, chunk, position, distance=_near_distance(near, position)))
    else:
        words = _words(chunk, WordKind.LEMMA, position)
        if words:  # punctuation between words is allowed and means nothing
            tokens.append(Token(Kind.TEXT, chunk, position, words))
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
