"""Small helpers every handler uses: the message's arguments and an HTML reply."""

from __future__ import annotations

from collections.abc import Iterable

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode

from bot.telegram_text import Line, Piece, Text, render


def command_args(update: Update, parts: int) -> list[str]:
    """The words after the command, the last part keeping its inner spaces.

    `/watch slug жест доброй воли` with parts=2 gives ["slug", "жест доброй воли"].
    context.args would split the term into words, losing how it was written.
    """
    message = update.effective_message
    text = (message.text or message.caption or "") if message else ""
    _command, _, rest = text.strip().partition(" ")
    return rest.split(maxsplit=parts - 1) if rest.strip() else []


def titled(slug: str, title: str) -> list[Piece]:
    """ " — Title" after a framing's slug, or nothing when the title is just the slug."""
    return [] if title in ("", slug) else [" — ", Text(title)]


async def reply(update: Update, *lines: Line | str) -> None:
    """Reply in the chat the update came from, as HTML, without link previews.

    Each line is markup (`str`) or pieces of markup and user text (`Text`); the renderer
    escapes and shortens the user text and splits long replies between lines.
    """
    await reply_chunks(update, lines)


async def reply_chunks(update: Update, lines: Iterable[Line | str]) -> None:
    """Reply with the lines joined into as few messages as fit Telegram's limit."""
    chat = update.effective_chat
    if chat is None:
        return
    for message in render(lines):
        await chat.send_message(
            message,
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
