"""Small helpers every handler uses: the message's arguments and an HTML reply."""

from __future__ import annotations

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode

MAX_REPLY_CHARS = 4096


def command_args(update: Update, parts: int) -> list[str]:
    """The words after the command, the last part keeping its inner spaces.

    `/watch slug жест доброй воли` with parts=2 gives ["slug", "жест доброй воли"].
    context.args would split the term into words, losing how it was written.
    """
    message = update.effective_message
    text = (message.text or message.caption or "") if message else ""
    rest = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
    return rest.split(maxsplit=parts - 1) if rest else []


async def reply(update: Update, html_text: str) -> None:
    """Reply in the chat the update came from, as HTML, without link previews."""
    chat = update.effective_chat
    if chat is None:
        return
    await chat.send_message(
        html_text[:MAX_REPLY_CHARS],
        parse_mode=ParseMode.HTML,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


async def reply_chunks(update: Update, lines: list[str]) -> None:
    """Reply with lines joined into as few messages as fit Telegram's limit."""
    chunk = ""
    for line in lines:
        line = line[: MAX_REPLY_CHARS - 1]
        if chunk and len(chunk) + len(line) + 1 > MAX_REPLY_CHARS:
            await reply(update, chunk)
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        await reply(update, chunk)
