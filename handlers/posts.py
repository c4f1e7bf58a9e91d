"""/post <link>: one stored post, its current text and every earlier version (analysts)."""

from __future__ import annotations

from telegram import Update

from bot.context import Context, services_of
from bot.links import parse_post_link, post_link
from bot.roles import Role
from bot.telegram_text import Line, Text
from handlers.common import command_args, reply, reply_chunks
from handlers.registry import Command

POST_USAGE = (
    "Usage: /post &lt;link&gt;, e.g. <code>/post https://t.me/channel/123</code> or "
    "<code>/post https://t.me/c/1234567890/45</code>: the post's text and its earlier versions."
)


async def show_post(update: Update, context: Context) -> None:
    args = command_args(update, 2)
    ref = parse_post_link(args[0]) if len(args) == 1 else None
    if ref is None:
        await reply(update, POST_USAGE)
        return
    services = services_of(context)
    chat_id = ref.chat_id
    if ref.username is not None:
        channel = await services.channels.find(ref.username)
        chat_id = channel.chat_id if channel else None
    text = await services.posts.text_of(chat_id, ref.message_id) if chat_id is not None else None
    if chat_id is None or text is None:
        await reply(update, "I have not stored that post. /channels lists the channels I read.")
        return
    versions = await services.posts.versions(chat_id, ref.message_id)
    link = post_link(chat_id, ref.username, ref.message_id)
    lines: list[Line] = [
        ["<b>Post</b> ", Text(link), f" · {len(versions)} earlier version(s)"],
        ["", "<b>Now:</b> ", Text(text or "(no text)")],
    ]
    lines += [
        [f"<b>Version {n}</b> (oldest first): ", Text(old or "(no text)")]
        for n, old in enumerate(versions, 1)
    ]
    await reply_chunks(update, lines)


COMMANDS = [
    Command(
        ("post",),
        show_post,
        Role.ANALYST,
        "/post &lt;link&gt;",
        "a stored post's text and its earlier versions",
    ),
]
