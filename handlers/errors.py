"""The last resort: log the error, tell the user something went wrong, keep running."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.context import Context
from handlers.common import reply
from storage.errors import Failure, classify

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = (
    "Sorry, something went wrong on my side and nothing was changed. "
    "Please try again in a minute; if it keeps happening, tell an admin."
)
# The database's failures by kind (storage/errors.py: by code, on SQLite and PostgreSQL
# alike), for those where the user can do better than "try again later".
_DATABASE_REPLIES = {
    Failure.UNIQUE: "That exists already, so nothing was changed.",
    Failure.CONSTRAINT: "That does not fit what is stored (something it refers to may be "
    "gone), so nothing was changed. Please look again and retry.",
    Failure.BUSY: "My database was busy with another change, so nothing was changed. "
    "Please send that again.",
    Failure.UNREACHABLE: "I cannot reach my database just now, so nothing was changed. "
    "Please try again in a few minutes; if it keeps happening, tell an admin.",
    Failure.FULL: "My database cannot store anything just now, so nothing was changed. "
    "Please tell an admin.",
    Failure.READ_ONLY: "My database cannot store anything just now, so nothing was changed. "
    "Please tell an admin.",
}


def error_reply(error: BaseException | None) -> str:
    """What a user is told when their update failed with `error`."""
    failure = None if error is None else classify(error)
    if failure is None:
        return SOMETHING_WENT_WRONG
    return _DATABASE_REPLIES.get(failure, SOMETHING_WENT_WRONG)


async def on_error(update: object, context: Context) -> None:
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    try:
        await reply(update, error_reply(context.error))
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
