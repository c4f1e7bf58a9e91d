"""register(app): the one ordered list of handlers; schedule(job_queue): the jobs."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, ChatMemberHandler, CommandHandler, MessageHandler, filters

from handlers import admins, analysts, channel_posts, errors, moderators, subscribers
from handlers.jobs import schedule

__all__ = ["ALLOWED_UPDATES", "register", "schedule"]

# Telegram remembers the last allowed_updates list: always send it explicitly.
ALLOWED_UPDATES = [
    "message",
    "channel_post",
    "edited_channel_post",
    "my_chat_member",
]

_COMMANDS = [
    (("start", "help"), subscribers.start),
    (("subscribe",), subscribers.subscribe),
    (("unsubscribe",), subscribers.unsubscribe),
    (("digest",), subscribers.digest_now),
    (("watch",), moderators.watch),
    (("unwatch",), moderators.unwatch),
    (("framings",), moderators.list_framings),
    (("channels",), moderators.list_channels),
    (("grant",), admins.grant),
    (("revoke",), admins.revoke),
    (("roles",), admins.list_roles),
    (("search",), analysts.search),
]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(MessageHandler(filters.UpdateType.CHANNEL_POSTS, channel_posts.channel_post))
    app.add_handler(ChatMemberHandler(channel_posts.membership, ChatMemberHandler.MY_CHAT_MEMBER))
    not_channel = ~filters.ChatType.CHANNEL & filters.UpdateType.MESSAGE
    for names, callback in _COMMANDS:
        app.add_handler(CommandHandler(names, callback, filters=not_channel))
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    app.add_handler(MessageHandler(private & filters.FORWARDED, moderators.forwarded_post))
    app.add_handler(MessageHandler(private & filters.COMMAND, errors.unknown_command))
    app.add_handler(MessageHandler(private, errors.plain_text))
    app.add_error_handler(errors.on_error)
