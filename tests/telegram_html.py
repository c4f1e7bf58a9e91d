"""Telegram's parse_mode=HTML checked the way the Bot API does it (after tdlib's parse_html).

Used by the fake Bot API (tests/fake_telegram.py) and by the renderer's property tests, so
a message the tests accept is one Telegram accepts. Stricter than Telegram in one way: a
"&" that does not start one of the four named entities or a numeric one is refused
(Telegram would show it as text), so a forgotten escape fails the tests.
"""

from __future__ import annotations

import re

from telegram.constants import MessageLimit

MAX_TEXT_UNITS: int = MessageLimit.MAX_TEXT_LENGTH
MAX_CAPTION_UNITS: int = MessageLimit.CAPTION_LENGTH

SUPPORTED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "tg-emoji", "code", "pre", "blockquote",
    }
)  # fmt: skip
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_TAG_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTRIBUTE = re.compile(r"\s*([a-zA-Z][a-zA-Z0-9-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")


class TelegramHTMLError(ValueError):
    """What the Bot API answers with 400 "Bad Request: can't parse entities: ..."."""


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def parse(markup: str) -> str:
    """The visible text of `markup`; raises TelegramHTMLError where Telegram would refuse it."""
    out: list[str] = []
    open_tags: list[str] = []
    i = 0
    while i < len(markup):
        char = markup[i]
        if char == "&":
            text, i = _entity(markup, i)
            out.append(text)
        elif char == "<":
            i = _tag(markup, i, open_tags)
        elif char == ">":
            raise TelegramHTMLError(f"Unexpected > at byte offset {_offset(markup, i)}")
        else:
            out.append(char)
            i += 1
    if open_tags:
        raise TelegramHTMLError(f"Can't find end tag corresponding to start tag {open_tags[-1]}")
    return "".join(out)


def check_message(markup: str, limit: int = MAX_TEXT_UNITS) -> str:
    """The Bot API's checks of a sendMessage text: parses, not empty, not too long.

    Returns "" when accepted, else the error description Telegram gives.
    """
    try:
        markup.encode("utf-8")
    except UnicodeEncodeError:
        return "Bad Request: text must be encoded in UTF-8"
    try:
        text = parse(markup).strip()
    except TelegramHTMLError as exc:
        return f"Bad Request: can't parse entities: {exc}"
    if not text:
        return "Bad Request: message text is empty"
    if units(text) > limit:
        return "Bad Request: message is too long"
    return ""


def _offset(markup: str, index: int) -> int:
    return len(markup[:index].encode("utf-8", "surrogatepass"))


def _entity(markup: str, i: int) -> tuple[str, int]:
    found = _ENTITY.match(markup, i)
    if found is None:
        raise TelegramHTMLError(f"Unsupported & at byte offset {_offset(markup, i)}")
    decimal, hexadecimal, name = found.groups()
    if name is not None:
        if name not in _NAMED:
            raise TelegramHTMLError(
                f"Unsupported entity &{name}; at byte offset {_offset(markup, i)}"
            )
        return _NAMED[name], found.end()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise TelegramHTMLError(f"Invalid character reference at byte offset {_offset(markup, i)}")
    return chr(code), found.end()


def _tag(markup: str, i: int, open_tags: list[str]) -> int:
    """Reads the tag at markup[i] == "<"; returns the index after it."""
    closing = markup.startswith("</", i)
    name_match = _TAG_NAME.match(markup, i + (2 if closing else 1))
    end = markup.find(">", i)
    if name_match is None or end < 0:
        raise TelegramHTMLError(f"Unclosed or empty tag at byte offset {_offset(markup, i)}")
    name = name_match.group().lower()
    if closing:
        if not open_tags:
            raise TelegramHTMLError(
                f'Unexpected end tag "{name}" at byte offset {_offset(markup, i)}'
            )
        if open_tags[-1] != name:
            raise TelegramHTMLError(f'End tag "{name}" doesn\'t match start tag "{open_tags[-1]}"')
        if markup[name_match.end() : end].strip():
            raise TelegramHTMLError(
                f"Unexpected text in end tag at byte offset {_offset(markup, i)}"
            )
        open_tags.pop()
        return end + 1
    if name not in SUPPORTED_TAGS:
        raise TelegramHTMLError(
            f'Unsupported start tag "{name}" at byte offset {_offset(markup, i)}'
        )
    attributes = _attributes(markup[name_match.end() : end], name)
    _check_attributes(name, attributes)
    open_tags.append(name)
    return end + 1


def _attributes(text: str, tag: str) -> dict[str, str]:
    attributes: dict[str, str] = {}
    position = 0
    while position < len(text) and text[position:].strip():
        found = _ATTRIBUTE.match(text, position)
        if found is None or found.end() == position:
            raise TelegramHTMLError(f'Bad attributes in tag "{tag}"')
        value = found.group(2) or ""
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        attributes[found.group(1).lower()] = parse(value) if "&" in value else value
        position = found.end()
    return attributes


def _check_attributes(tag: str, attributes: dict[str, str]) -> None:
    if tag == "a" and not attributes.get("href"):
        raise TelegramHTMLError('Tag "a" must have attribute "href"')
    if tag == "span" and attributes.get("class") != "tg-spoiler":
        raise TelegramHTMLError('Tag "span" must have class "tg-spoiler"')
    if tag == "tg-emoji" and not attributes.get("emoji-id", "").isdigit():
        raise TelegramHTMLError('Tag "tg-emoji" must have a numeric attribute "emoji-id"')
