"""Small helpers every handler uses: the message's arguments and an HTML reply."""

from __future__ import annotations

from html import escape

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
    _command, _, rest = text.strip().partition(" ")
    return rest.split(maxsplit=parts - 1) if rest.strip() else []


def titled(slug: str, title: str) -> str:
    """ " — Title" after a framing's slug, or nothing when the title is just the slug."""
    return "" if title in ("", slug) else f" — {escape(title)}"


def telegram_length(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji can count 2)."""
    return len(text.encode("utf-16-le")) // 2


async def reply(update: Update, html_text: str) -> None:
    """Reply in the chat the update came from, as HTML, without link previews."""
    chat = update.effective_chat
    if chat is None:
        return
    await chat.send_message(
        _fit(html_text),
        parse_mode=ParseMode.HTML,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


def _fit(html_text: str) -> str:
    """Shorten an over-long reply at a line boundary, so no tag is cut in half."""
    while telegram_length(html_text) > MAX_REPLY_CHARS and "\n" in html_text:
        html_text = html_text[: html_text.rfind("\n")]
    return html_text if telegram_length(html_text) <= MAX_REPLY_CHARS else html_text[:2000]


async def reply_chunks(update: Update, lines: list[str]) -> None:
    """Reply with lines joined into as few messages as fit Telegram's limit.

    Callers keep each line well under the limit (terms are at most 200 characters), so
    splitting between lines never cuts an HTML tag or entity.
    """
    chunk = ""
    for line in lines:
        if chunk and telegram_length(chunk) + telegram_length(line) + 1 > MAX_REPLY_CHARS:
            await reply(update, chunk)
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        await reply(update, chunk)
