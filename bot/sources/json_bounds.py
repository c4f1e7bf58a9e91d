"""Bounds on an imported JSON file, checked on the bytes before the parser sees them.

ijson keeps the path of every open array and object as a string ("messages.item.item...")
and a stack of them, so memory grows with the square of the nesting depth: an 80 KB file
of brackets took 2.8 GB. A Telegram export nests about 6 levels deep, its strings are
post texts, and a message is a few KB: refusing more than MAX_DEPTH levels, a string over
MAX_STRING_BYTES or a message over MAX_MESSAGE_BYTES keeps memory flat whatever the file.

The depth count runs at C speed: complete strings are cut out with one regular expression
and everything but brackets with bytes.translate; only a chunk that could reach the limit
is walked bracket by bracket.
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Protocol

MAX_DEPTH = 64
MAX_STRING_BYTES = 1_000_000
MAX_MESSAGE_BYTES = 1_000_000

# Up to the first string that does not end in this chunk: outside strings and complete
# strings, possessive so that nothing is tried twice.
_SYNCED = re.compile(rb'(?:[^"]++|"(?:[^"\\]++|\\.)*+")*+', re.DOTALL)
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.)*+"|[\[\]{}]', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


class BoundsError(ValueError):
    """The file is beyond a bound; the message says which and where."""


class Source(Protocol):
    bytes_read: int

    def read(self, n: int = ...) -> bytes: ...


class BoundedReader:
    """Reads `source` for the parser, refusing what would make the parser's memory grow."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self._depth = 0
        self._carry = b""  # the start of a string that continues in the next chunk
        self._carry_at = 0  # its offset in the file
        self._lines = 1  # the line where the carry starts
        self._message_from: int | None = None

    def read(self, n: int = 64 * 1024) -> bytes:
        data = self._source.read(n)
        self._check(self._carry + data, self._source.bytes_read - len(data) - len(self._carry))
        if self._message_from is not None:
            size = self._source.bytes_read - self._message_from
            if size > MAX_MESSAGE_BYTES + n:
                self._fail(f"a message is larger than {MAX_MESSAGE_BYTES // 1000} KB", size)
        return data

    def message_starts(self) -> None:
        """A message begins here: from now on its size counts (until message_ends)."""
        self._message_from = self._source.bytes_read

    def message_ends(self) -> None:
        self._message_from = None

    def _check(self, text: bytes, offset: int) -> None:
        found = _SYNCED.match(text)
        synced = found.end() if found else 0
        self._carry, self._carry_at = text[synced:], offset + synced
        if len(self._carry) > MAX_STRING_BYTES:
            self._fail(f"a text is longer than {MAX_STRING_BYTES // 1000} KB", offset + synced)
        brackets = _STRING.sub(b"", text[:synced]).translate(None, _NOT_BRACKETS)
        opened = brackets.count(b"[") + brackets.count(b"{")
        if self._depth + opened > MAX_DEPTH:
            deepest = max(accumulate(map(_STEP.__getitem__, brackets), initial=self._depth))
            if deepest > MAX_DEPTH:
                self._fail_deep(text[:synced], offset)
        self._depth += 2 * opened - len(brackets)
        self._lines += text.count(b"\n", 0, synced)

    def _fail_deep(self, text: bytes, offset: int) -> None:
        """Find the bracket past the limit (slowly: this is the error path)."""
        depth = self._depth
        for token in _TOKEN.finditer(text):
            if token[0] in (b"[", b"{"):
                depth += 1
                if depth > MAX_DEPTH:
                    self._lines += text.count(b"\n", 0, token.start())
                    self._fail(f"nested deeper than {MAX_DEPTH} levels", offset + token.start())
            elif token[0] in (b"]", b"}"):
                depth -= 1

    def _fail(self, what: str, at: int) -> None:
        raise BoundsError(
            f"{what} at byte {at} (line {self._lines}): not a Telegram Desktop export, "
            "or a damaged one; nothing after this point was read"
        )
