"""Numbers typed by people: ASCII digits only.

str.isdigit() and int() accept far more than 0-9: int("١٢٣") is 123 and "²".isdigit() is
True while int("²") raises. A user id, a limit or an hour is written in ASCII digits (at
most 18 of them, so it fits SQLite's 64-bit integers); any other text is not a number, and
the caller says so.
"""

from __future__ import annotations

import re

_INTEGER = re.compile(r"-?[0-9]{1,18}")


def ascii_int(text: str, *, signed: bool = False) -> int | None:
    """The integer `text` spells in ASCII digits (a leading '-' if signed), else None."""
    if not _INTEGER.fullmatch(text) or (text.startswith("-") and not signed):
        return None
    return int(text)
