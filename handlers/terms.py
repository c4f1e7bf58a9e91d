"""/watch and /unwatch: moderators add and remove the terms of framings."""

from __future__ import annotations

from telegram import Update

from bot.context import Context, services_of
from bot.framings import FramingError, add_term, check_new_term, check_slug
from bot.roles import Role
from bot.telegram_text import Text
from handlers.common import command_args, reply
from handlers.registry import Command

WATCH_USAGE = (
    "Usage: /watch &lt;framing&gt; &lt;term&gt;\n"
    "e.g. <code>/watch goodwill-gesture жест доброй воли</code>\n"
    "The framing is created if it is new. Words match in any inflected form "
    "(<code>жест доброй воли</code> also finds «жестом доброй воли»); "
    '<code>"exact forms"</code> in quotes; <code>отступ*</code> a prefix; '
    "<code>a AND b</code>, <code>a OR b</code>, <code>NOT a</code>, ( ); "
    "<code>NEAR/5(a, b)</code>; <code>re:pattern</code> (RE2). "
    "Try a term on a text first with /explain."
)
UNWATCH_USAGE = (
    "Usage: /unwatch &lt;framing&gt; [&lt;term&gt;]\n"
    "e.g. <code>/unwatch goodwill-gesture жест доброй воли</code> removes one term; "
    "<code>/unwatch goodwill-gesture</code> removes the framing with all its terms. "
    "/framings lists them."
)


async def watch(update: Update, context: Context) -> None:
    services = services_of(context)
    args = command_args(update, 2)
    if len(args) < 2:
        await reply(update, WATCH_USAGE)
        return
    try:
        slug = check_slug(args[0])
        term = check_new_term(args[1])
    except FramingError as exc:
        await reply(update, [Text(str(exc))], "", WATCH_USAGE)
        return
    user = update.effective_user
    user_id = user.id if user else None
    await reply(update, await add_term(services.framings, slug, term, user_id, services.clock()))


async def unwatch(update: Update, context: Context) -> None:
    services = services_of(context)
    args = command_args(update, 2)
    if not args:
        await reply(update, UNWATCH_USAGE)
        return
    try:
        slug = check_slug(args[0])
        term = check_new_term(args[1]) if len(args) > 1 else None
    except FramingError as exc:
        await reply(update, [Text(str(exc))], "", UNWATCH_USAGE)
        return
    if not await services.framings.exists(slug):
        await reply(update, f"There is no framing called {slug}. /framings lists them.")
        return
    user_id = update.effective_user.id if update.effective_user else None
    now = services.clock()
    if term is None:
        gone = await services.framings.remove_framing(slug, user_id, now)
        if gone is None:  # removed by someone else since exists()
            await reply(update, f"There is no framing called {slug}. /framings lists them.")
            return
        await reply(
            update,
            f"Removed framing <b>{slug}</b> with its {gone.terms} terms and matches "
            f"(rules version {gone.version}).",
        )
        return
    removed = await services.framings.remove_term(slug, term.key, user_id, now)
    if removed is None:
        await reply(
            update, [f"{slug} has no term “", Text(term.text), "”. /framings lists its terms."]
        )
    else:
        await reply(
            update,
            [
                "Removed “",
                Text(removed.text),
                f"” from <b>{slug}</b>, with its matches (rules version {removed.version}).",
            ],
        )


COMMANDS = [
    Command(
        ("watch",),
        watch,
        Role.MODERATOR,
        "/watch &lt;framing&gt; &lt;term&gt;",
        "add a term (creates the framing if new)",
    ),
    Command(
        ("unwatch",),
        unwatch,
        Role.MODERATOR,
        "/unwatch &lt;framing&gt; [&lt;term&gt;]",
        "remove a term, or the whole framing",
    ),
]
