"""Public channel usernames as people write them: @name, name, t.me/name, t.me/s/name."""

from __future__ import annotations

import re

USERNAME_RULE = (
    "Telegram usernames are 5–32 characters: letters, digits and underscores, "
    "starting with a letter."
)
USERNAME_FORMS = "Write @name, name, https://t.me/name or t.me/s/name."


class UsernameError(ValueError):
    """Not a public channel's username; the message says what to write instead."""


_LINK = re.compile(r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/(?:s/)?([^/?#]*)/?", re.I)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
_INVITE = re.compile(r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/(?:\+|joinchat/)", re.I)


def parse_username(raw: str) -> str:
    """The channel username in any accepted form, lowercase (usernames ignore case)."""
    text = raw.strip()
    link = _LINK.fullmatch(text)
    name = link.group(1) if link else text.removeprefix("@")
    if _INVITE.match(text):
        raise UsernameError(
            "That is an invite link: it leads to a private channel, which has no public web "
            "preview. Add the bot to it as an administrator instead."
        )
    if not _NAME.fullmatch(name):
        shown = text if len(text) <= 64 else text[:63] + "…"
        raise UsernameError(
            f"“{shown}” is not a channel username. {USERNAME_RULE} {USERNAME_FORMS}"
        )
    return name.lower()
