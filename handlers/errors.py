"""The last resort: log the error, tell the user something went wrong, keep running."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.context import Context
from handlers.common import reply

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    try:
        await reply(
            update,
            "Sorry, something went wrong on my side and nothing was changed. "
            "Please try again in a minute; if it keeps happening, tell an admin.",
        )
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)


async def unknown_command(update: Update, context: Context) -> None:
    await reply(update, "I do not know that command. /help lists what you can do.")


async def plain_text(update: Update, context: Context) -> None:
    await reply(
        update,
        "I answer commands only. /help lists them; moderators can forward me "
        "channel posts to store them.",
    )
