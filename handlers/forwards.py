"""Channel posts forwarded to the bot privately by a moderator are stored under their channel."""

from __future__ import annotations

from telegram import Update

from bot.context import Context, services_of
from bot.ingest import post_from_forward, store_post
from bot.links import post_link
from bot.roles import Role
from bot.telegram_text import Text
from handlers.common import reply
from handlers.registry import Command
from storage.models import StoreOutcome


async def forwarded_post(update: Update, context: Context) -> None:
    """A channel post forwarded to the bot privately is stored under its channel."""
    message = update.effective_message
    post = post_from_forward(message) if message else None
    if post is None:
        await reply(
            update,
            "I store forwarded posts from channels only; this one did not "
            "come from a channel (or its sender hides the origin).",
        )
        return
    services = services_of(context)
    result = await store_post(services.posts, post, services.clock())
    link = post_link(post.chat_id, post.channel_username, post.message_id)
    verb = {StoreOutcome.NEW: "Stored", StoreOutcome.EDITED: "Updated"}.get(
        result.outcome, "Already had"
    )
    channel = await services.channels.find(str(post.chat_id))
    state = channel.approval if channel else "approved"
    note = (
        ""
        if state == "approved"
        else f"\nThe channel is {state}: /approve {post.chat_id} counts it."
    )
    await reply(
        update,
        [f"{verb} the post from <b>", Text(post.channel_title), "</b>: ", Text(link), note],
    )


# Shown by /help; registered on forwarded private messages, not as a command.
FORWARD = Command(
    (),
    forwarded_post,
    Role.MODERATOR,
    "(forward me a channel post)",
    "store it under its channel",
)
