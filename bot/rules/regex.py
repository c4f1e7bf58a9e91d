"""`re:` terms: RE2 patterns (google-re2), whose matching time is linear in the text.

Patterns run on the post text with case ignored and the same one-to-one unifications as words
(ё→е, ґ→г, one apostrophe), so positions stay those of the original text. Other
normalisations (NFKC, zero-width characters, look-alike letters) do not apply to regexes.
Note that in RE2 `\\w` and `\\b` are ASCII-only: use `\\pL` (any letter) for Cyrillic.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import re2

from bot.rules.syntax import TermError

_UNIFY = str.maketrans("ёЁґҐ’ʼ`‘＇", "еЕгГ'''''")


def unify(text: str) -> str:
    """The one-to-one character unifications shared by posts and patterns; a lone surrogate
    (imported JSON can hold one) becomes U+FFFD, as RE2 takes only text UTF-8 can encode.
    One character for one: match offsets stay offsets into the post."""
    if any(ch in text for ch in "ёЁґҐ’ʼ`‘＇"):
        text = text.translate(_UNIFY)
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


_SURROGATE = re.compile("[\ud800-\udfff]")


@functools.cache
def _options() -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # errors are reported to the moderator, not to stderr
    return options


def compile_pattern(pattern: str) -> Any:
    """The compiled pattern, or TermError with RE2's own explanation."""
    if not pattern.strip():
        raise TermError("re: needs a regular expression after it, e.g. re:жест\\s+доброй.")
    try:
        compiled = re2.compile(unify(pattern), _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise TermError(f"The regular expression is not valid for RE2: {reason}.") from None
    if compiled.fullmatch("") is not None:
        raise TermError(
            "The regular expression matches empty text, so it would match every post: "
            "make it require at least one character."
        )
    return compiled


class RegexSet:
    """All regex terms: one RE2 set finds which patterns occur, then each one's matches."""

    def __init__(self, patterns: Sequence[Any]) -> None:
        self._patterns = list(patterns)
        self._set: Any = None
        if len(self._patterns) > 1:
            self._set = re2.Set.SearchSet(_options())
            for pattern in self._patterns:
                self._set.Add(pattern.pattern)
            self._set.Compile()

    def spans(self, text: str) -> list[tuple[int, list[tuple[int, int]]]]:
        """(pattern index, non-empty match spans) for every pattern that occurs in text."""
        unified = unify(text)
        if self._set is not None:
            indices = sorted(self._set.Match(unified) or ())  # RE2 returns None for no match
        else:
            indices = list(range(len(self._patterns)))
        found = []
        for index in indices:
            spans = [
                m.span() for m in self._patterns[index].finditer(unified) if m.end() > m.start()
            ]
            if spans:
                found.append((index, spans))
        return found
