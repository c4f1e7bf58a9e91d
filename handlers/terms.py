"""/watch and /unwatch: moderators add and remove the terms of framings."""

from __future__ import annotations

from telegram import Update

from bot.context import Context, Services, services_of
from bot.framings import CheckedTerm, FramingError, check_new_term, check_slug
from bot.roles import Role
from bot.telegram_text import Line, Text
from handlers.common import command_args, reply
from handlers.registry import Command
from storage.framings import TermLimitError

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
    await reply(update, await add_term(services, slug, term, user.id if user else None, "/watch"))


async def add_term(
    services: Services, slug: str, term: CheckedTerm, user_id: int | None, via: str
) -> Line:
    """Add a checked term (audited, recorded under a new rules version, rescanned in the
    background): the one path of /watch and of /suggest's buttons. The reply line."""
    try:
        result = await services.framings.add_term(
            slug, term.text, term.key, user_id, services.clock(), via=via
        )
    except TermLimitError as exc:
        return [
            f"{slug} already has {exc.limit} terms, the most allowed: "
            "remove some with /unwatch first."
        ]
    if not result.term_added:
        return [f"{slug} already has the term “", Text(term.text), "”; nothing changed."]
    created = "New framing " if result.framing_created else "Framing "
    return [
        f"{created}<b>{slug}</b>: added “",
        Text(term.text),
        f"” (rules version {result.version}). Stored posts are rescanned for it in the "
        "background; /framings shows the progress and the counts.",
    ]


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
