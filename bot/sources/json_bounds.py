"""Bounds on an imported JSON file, checked on the bytes before the parser sees them.

ijson keeps the path of every open array and object as a string ("messages.item.item...")
and a stack of them, so memory grows with the square of the nesting depth: an 80 KB file
of brackets took 2.8 GB. A Telegram export nests about 6 levels deep, its strings are
post texts, and a message is a few KB: refusing more than MAX_DEPTH levels, a string over
MAX_STRING_BYTES or a message over MAX_MESSAGE_BYTES keeps memory flat whatever the file.

The checks run at C speed, a chunk at a time, with bytes methods only: escaped backslashes
and quotes are removed, everything but quotes and brackets is dropped, then the strings
(now "" in most cases). Only a chunk that breaks a bound is walked byte by byte, to say
where.
"""

from __future__ import annotations

from itertools import accumulate
from typing import Protocol

MAX_DEPTH = 64
MAX_STRING_BYTES = 1_000_000
MAX_MESSAGE_BYTES = 1_000_000

_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


class BoundsError(ValueError):
    """The file is beyond a bound: `what`, at byte `at` of the file."""

    def __init__(self, what: str, at: int) -> None:
        super().__init__(f"{what} at byte {at}")
        self.what = what
        self.at = at


class Source(Protocol):
    bytes_read: int

    def read(self, n: int = ...) -> bytes: ...


class BoundedReader:
    """Reads `source` for the parser, refusing what would make the parser's memory grow."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self._depth = 0
        self._in_string = False
        self._string_length = 0  # of the string that continues into the next chunk
        self._backslash = b""  # a lone backslash ending the chunk: it escapes the next byte
        self._message_from: int | None = None

    def read(self, n: int = 64 * 1024) -> bytes:
        data = self._source.read(n)
        start = self._source.bytes_read - len(data)
        before = (self._depth, self._in_string, bool(self._backslash), self._string_length)
        if not self._fits(data):
            what, at = _locate(data, *before)
            raise BoundsError(what, start + at)
        if self._message_from is not None:
            size = self._source.bytes_read - self._message_from
            if size > MAX_MESSAGE_BYTES + n:
                raise BoundsError(f"a message is larger than {MAX_MESSAGE_BYTES // 1000} KB", start)
        return data

    def message_starts(self) -> None:
        """A message begins here: from now on its size counts (until message_ends)."""
        self._message_from = self._source.bytes_read

    def message_ends(self) -> None:
        self._message_from = None

    def _fits(self, data: bytes) -> bool:
        """Whether this chunk stays within the depth and string bounds; the state moves on."""
        text = self._backslash + data
        odd = 0
        if b"\\" in text:
            odd = (len(text) - len(text.rstrip(b"\\"))) % 2
            text = text[: len(text) - odd].replace(b"\\\\", b"").replace(b'\\"', b"")
        self._backslash = b"\\" if odd else b""
        # Now every quote opens or closes a string.
        # Only quotes and brackets matter for the depth. A string without brackets is then
        # "", as are a closing and an opening quote with nothing between: dropping those
        # pairs changes no bracket's side, and leaves only brackets in most chunks.
        skeleton = text.translate(None, _NOT_STRUCTURE)
        longest, ends_inside = self._strings(text, skeleton.count(b'"'))
        skeleton = (b'"' if self._in_string else b"") + skeleton
        skeleton = skeleton.replace(b'""', b"")
        if b'"' in skeleton:
            skeleton = b"".join(skeleton.split(b'"')[0::2])  # what is outside strings
        self._in_string = ends_inside
        opened = skeleton.count(b"[") + skeleton.count(b"{")
        deepest = self._depth + opened
        if deepest > MAX_DEPTH:
            deepest = max(accumulate(map(_STEP.__getitem__, skeleton), initial=self._depth))
        self._depth += 2 * opened - len(skeleton)
        return longest <= MAX_STRING_BYTES and deepest <= MAX_DEPTH

    def _strings(self, text: bytes, quotes: int) -> tuple[int, bool]:
        """The longest string this chunk ends or holds, and whether it ends in one. A
        string longer than a read spans reads without a quote: only those are counted."""
        first = text.find(b'"')
        if first < 0:
            self._string_length += len(text) if self._in_string else 0
            return self._string_length, self._in_string
        longest = self._string_length + first if self._in_string else 0
        if len(text) > MAX_STRING_BYTES:  # a read bigger than a string may be: look inside
            inside = text.split(b'"')[0 if self._in_string else 1 :: 2]
            longest = max(longest, *map(len, inside))
        ends_inside = self._in_string != (quotes % 2 == 1)
        self._string_length = len(text) - text.rfind(b'"') - 1 if ends_inside else 0
        return max(longest, self._string_length), ends_inside


def _locate(
    data: bytes, depth: int, in_string: bool, escaped: bool, length: int
) -> tuple[str, int]:
    """What broke a bound in this chunk, and its offset in it: byte by byte, as this is
    the error path only. The arguments are the state at the chunk's start."""
    for at, byte in enumerate(data):
        if escaped:
            escaped = False
        elif in_string:
            length += 1
            if byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string, length = False, 0
            elif length > MAX_STRING_BYTES:
                return f"a text is longer than {MAX_STRING_BYTES // 1000} KB", at
        elif byte == 0x22:
            in_string = True
        else:
            depth += _STEP[byte]
            if depth > MAX_DEPTH:
                return f"nested deeper than {MAX_DEPTH} levels", at
    return f"a text is longer than {MAX_STRING_BYTES // 1000} KB", len(data)
