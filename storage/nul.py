"""U+0000 out of stored text.

PostgreSQL's text cannot hold U+0000 (SQLite's can, but nothing needs it, and replies strip
control characters anyway): any that a post, a channel's title or a framing pack brings is
removed before it is stored, on both databases alike, so both hold the same rows.
"""

from __future__ import annotations

from typing import overload

NUL = "\x00"


@overload
def without_nul(value: str) -> str: ...
@overload
def without_nul(value: None) -> None: ...
def without_nul(value: str | None) -> str | None:
    return value.replace(NUL, "") if value else value
