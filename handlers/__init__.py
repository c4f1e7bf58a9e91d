"""The one registry: every command (all_commands), register(app) and schedule(job_queue)."""

from __future__ import annotations

from typing import Any

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    JobQueue,
    MessageHandler,
    filters,
)

from bot.roles import Role
from handlers import (
    admins,
    analysts,
    approvals,
    audit,
    channel_posts,
    channels,
    errors,
    explain,
    forwards,
    framing_list,
    jobs,
    posts,
    propagation,
    reviews,
    settings,
    sources,
    subscribers,
    suggest,
    terms,
    trends,
    watchdogs,
)
from handlers.auth import requires
from handlers.help import help_command
from handlers.registry import Command

__all__ = ["ALLOWED_UPDATES", "register", "schedule"]

# Telegram remembers the last allowed_updates list: always send it explicitly.
ALLOWED_UPDATES = [
    "message",
    "channel_post",
    "edited_channel_post",
    "my_chat_member",
    "callback_query",
]


def all_commands() -> list[Command]:
    """Every command in the order /help lists them and handlers are registered."""
    return [
        HELP,
        *subscribers.COMMANDS,
        *settings.COMMANDS,
        *trends.COMMANDS,
        *analysts.COMMANDS,
        *posts.COMMANDS,
        *propagation.COMMANDS,
        *explain.COMMANDS,
        *terms.COMMANDS,
        *framing_list.COMMANDS,
        *reviews.COMMANDS,
        *suggest.COMMANDS,
        *channels.COMMANDS,
        *watchdogs.COMMANDS,
        *approvals.COMMANDS,
        forwards.FORWARD,
        *sources.COMMANDS,
        *admins.COMMANDS,
        *audit.COMMANDS,
    ]


HELP = help_command(all_commands)


def guarded(command: Command) -> Any:
    """The callback, refusing users below the command's role (everyone passes EVERYONE)."""
    if command.role is Role.EVERYONE:
        return command.callback
    return requires(command.role)(command.callback)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(MessageHandler(filters.UpdateType.CHANNEL_POSTS, channel_posts.channel_post))
    app.add_handler(ChatMemberHandler(channel_posts.membership, ChatMemberHandler.MY_CHAT_MEMBER))
    # The /settings card's buttons (data "set:..."), answered there even when forged.
    app.add_handler(CallbackQueryHandler(settings.button, pattern=r"^set:"))
    app.add_handler(CallbackQueryHandler(reviews.button, pattern=r"^rv:"))
    app.add_handler(CallbackQueryHandler(suggest.button, pattern=r"^sg:"))
    # Every button press, whatever its data: approvals.button answers foreign ones too.
    app.add_handler(CallbackQueryHandler(approvals.button))
    not_channel = ~filters.ChatType.CHANNEL & filters.UpdateType.MESSAGE
    for command in all_commands():
        if command.names:
            app.add_handler(CommandHandler(command.names, guarded(command), filters=not_channel))
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    app.add_handler(MessageHandler(private & filters.FORWARDED, guarded(forwards.FORWARD)))
    app.add_handler(MessageHandler(private & filters.COMMAND, errors.unknown_command))
    app.add_handler(MessageHandler(private, errors.plain_text))
    app.add_error_handler(errors.on_error)


def schedule(job_queue: JobQueue[Any]) -> None:
    jobs.schedule(job_queue)
    sources.schedule(job_queue)
