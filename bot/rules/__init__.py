"""Matching framing terms in posts. Callers use only the names re-exported here."""

from bot.rules.matcher import (
    MAX_TERM_LENGTH,
    Hit,
    Matcher,
    TermError,
    TermRule,
    check_term,
    compile_matcher,
    term_key,
)
from bot.rules.normalize import Token, normalize_word, tokenize

__all__ = [
    "MAX_TERM_LENGTH",
    "Hit",
    "Matcher",
    "TermError",
    "TermRule",
    "Token",
    "check_term",
    "compile_matcher",
    "normalize_word",
    "term_key",
    "tokenize",
]
