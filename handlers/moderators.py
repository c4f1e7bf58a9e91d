"""Moderator commands: /watch, /unwatch, /framings, /channels, and forwarded posts."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import Context, Services, services_of
from bot.framings import FramingError, check_new_term, check_slug
from bot.ingest import post_from_forward, store_post
from bot.links import post_link
from bot.roles import Role
from bot.scan import rescan_percent
from bot.telegram_text import Line, Piece, Text
from handlers.approvals import list_pending
from handlers.common import command_args, reply, reply_chunks, titled
from handlers.registry import Command
from handlers.sources import follow_state
from storage.framings import TermLimitError
from storage.models import FramingStats, RuleChange, StoreOutcome

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
    try:
        result = await services.framings.add_term(
            slug, term.text, term.key, user.id if user else None, services.clock()
        )
    except TermLimitError as exc:
        await reply(
            update,
            f"{slug} already has {exc.limit} terms, the most allowed: "
            "remove some with /unwatch first.",
        )
        return
    if not result.term_added:
        await reply(
            update, [f"{slug} already has the term “", Text(term.text), "”; nothing changed."]
        )
        return
    created = "New framing " if result.framing_created else "Framing "
    await reply(
        update,
        [
            f"{created}<b>{slug}</b>: added “",
            Text(term.text),
            f"” (rules version {result.version}). Stored posts are rescanned for it in the "
            "background; /framings shows the progress and the counts.",
        ],
    )


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


TERMS_SHOWN = 20
HISTORY_SHOWN = 10  # rule changes shown by /framings <framing>


async def list_framings(update: Update, context: Context) -> None:
    """All framings with their first terms; `/framings <slug>` shows every term of one."""
    services = services_of(context)
    framings = await services.framings.list_with_stats()
    rescans = await rescan_notes(services)
    if not framings:
        await reply(
            update,
            "No framings yet. Add one: <code>/watch goodwill-gesture gesture of goodwill</code>",
        )
        return
    args = command_args(update, 1)
    if args:
        chosen = [f for f in framings if f.slug == args[0].strip().lower()]
        if not chosen:
            await reply(
                update,
                ["There is no framing called ", Text(args[0][:70]), ". /framings lists them."],
            )
            return
        history = await services.framings.history(chosen[0].slug, HISTORY_SHOWN)
        zone = services.settings.zone
        await reply_chunks(update, _framing_lines(chosen[0], rescans, history, zone))
        return
    version = await services.framings.rules_version()
    lines: list[Line] = [[f"<b>{len(framings)} framings</b> · rules version {version}"]]
    for f in framings:
        terms: list[Piece] = [Text("; ".join(f.terms[:TERMS_SHOWN]) or "(no terms)")]
        if len(f.terms) > TERMS_SHOWN:
            terms.append(f" …and {len(f.terms) - TERMS_SHOWN} more (/framings {f.slug})")
        lines += [
            [""],
            _framing_line(f.slug, f.title, f.post_count, rescans.get(f.slug, "")),
            [f"terms ({len(f.terms)}): ", *terms],
        ]
    await reply_chunks(update, lines)


def _framing_lines(
    f: FramingStats, rescans: dict[str, str], history: Sequence[RuleChange], zone: ZoneInfo
) -> list[Line]:
    """/framings <slug>: every term of one framing, and its latest rule changes."""
    lines: list[Line] = [
        _framing_line(f.slug, f.title, f.post_count, rescans.get(f.slug, "")),
        [f"{len(f.terms)} terms:"],
    ]
    lines += [["• ", Text(t)] for t in f.terms]
    if history:
        lines.append([f"\nLatest changes, newest first (at most {HISTORY_SHOWN}):"])
        lines += [change_line(c, zone) for c in history]
    return lines


def _framing_line(slug: str, title: str, post_count: int, rescan: str) -> Line:
    return [f"<b>{slug}</b>", *titled(slug, title), f" · {post_count} posts matched{rescan}"]


def change_line(change: RuleChange, zone: ZoneInfo) -> Line:
    """One history row: "v12 + жест доброй воли · /watch by 123 · 2026-11-25 10:00"."""
    sign = "+" if change.change == "added" else "−"
    who = f" by {change.user_id}" if change.user_id is not None else ""
    when = f"{change.at.astimezone(zone):%Y-%m-%d %H:%M}"
    return [
        f"v{change.version} {sign} ",
        Text(change.term),
        " · ",
        Text(change.via),
        f"{who} · {when}",
    ]


async def rescan_notes(services: Services) -> dict[str, str]:
    """slug -> " · rescanning: 40%" for framings whose new terms are still being applied."""
    progress = await services.matches.rescan_progress()
    names = await services.framings.names() if progress else {}
    return {
        names[framing_id][0]: f" · rescanning: {rescan_percent(p)}%"
        for framing_id, p in progress.items()
        if framing_id in names
    }


async def list_channels(update: Update, context: Context) -> None:
    services = services_of(context)
    channels = await services.channels.list_with_stats()
    follows = {f.chat_id: f for f in await services.follows.all()}
    if not channels:
        await reply(
            update,
            "No channels yet. Add the bot to a channel as an administrator, follow a public "
            "channel with /follow @name, or forward me a post from a channel.",
        )
        return
    tz = services.settings.zone
    lines: list[Line] = [[f"<b>{len(channels)} channels</b>"]]
    for c in channels:
        name = f"@{c.username}" if c.username else f"private {c.chat_id}"
        last = f"{c.last_post_at.astimezone(tz):%Y-%m-%d %H:%M}" if c.last_post_at else "never"
        state = "bot is admin" if c.is_member else "not a member (forwards only)"
        if c.chat_id in follows:
            followed = follow_state(follows[c.chat_id], tz)
            state = f"bot is admin · {followed}" if c.is_member else followed
        if c.watchdog:
            state += " · watchdog"
        if c.approval != "approved":
            state += f" · {_APPROVAL[c.approval]}"
        lines.append(
            [
                *("• <b>", Text(c.title or name), "</b> ", Text(name)),
                *(f" · {c.post_count} posts · last post {last} · ", Text(state)),
            ]
        )
    await reply_chunks(update, lines)
    await list_pending(update, context, channels)


_APPROVAL = {
    "pending": "pending approval: posts stored, not counted",
    "rejected": "rejected: posts stored, not counted",
}


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
    Command(
        ("framings",),
        list_framings,
        Role.MODERATOR,
        "/framings [&lt;framing&gt;]",
        "framings, their terms and matched posts",
    ),
    Command(
        ("channels",),
        list_channels,
        Role.MODERATOR,
        "/channels",
        "watched channels, post counts, last post; Approve/Leave for pending ones",
    ),
]
