"""Matching framing terms in posts. Callers use only the names re-exported here."""

from bot.rules.engine import term_problem
from bot.rules.explain import FoundWord, TermExplanation, explain
from bot.rules.matcher import (
    MAX_TERM_LENGTH,
    Hit,
    Matcher,
    RuleMatcher,
    TermError,
    TermRule,
    check_term,
    compile_matcher,
    term_key,
)
from bot.rules.normalize import Token, detect_language, normalize_word, tokenize

__all__ = [
    "MAX_TERM_LENGTH",
    "FoundWord",
    "Hit",
    "Matcher",
    "RuleMatcher",
    "TermError",
    "TermExplanation",
    "TermRule",
    "Token",
    "check_term",
    "compile_matcher",
    "detect_language",
    "explain",
    "normalize_word",
    "term_key",
    "term_problem",
    "tokenize",
]
