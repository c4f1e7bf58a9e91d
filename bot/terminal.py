"""Text from posts, titles and files made safe to print on a terminal.

A channel controls its posts and titles: a NUL, a carriage return or an escape sequence
(ESC [ 2 J clears the screen, OSC 8 writes links, some terminals answer queries by typing
into the shell) must not reach the terminal of whoever runs `framewatch search`. Every
CLI command passes user text through clean() before printing it.
"""

from __future__ import annotations

import re

# ESC followed by a CSI (ESC [ ... final byte), an OSC/DCS/APC/PM/SOS string (up to BEL or
# ESC \), or any single character; then the 8-bit forms (CSI 0x9B, OSC 0x9D, ...).
_ESCAPE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|.?)"
    r"|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x9c)?"
    r"|\x9b[0-?]*[ -/]*[@-~]?",
    re.DOTALL,
)
# C0 and C1 controls, DEL, lone surrogates (unprintable: they would fail to encode), and
# the bidirectional overrides that make text read in another order than it is stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_NEWLINES = re.compile(r"[\n\t]+")


def clean(text: str, multiline: bool = False) -> str:
    """`text` without escape sequences and control characters. One-line fields (the
    default) also have newlines and tabs turned into a space; multi-line ones keep them."""
    text = _CONTROL.sub("", _ESCAPE.sub("", text))
    return text if multiline else _NEWLINES.sub(" ", text)
