"""/framings: the framings with their terms, matched posts, rescans and rule history."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import Context, Services, services_of
from bot.reviews import term_review_text
from bot.roles import Role
from bot.rules import term_problem
from bot.scan import rescan_percent
from bot.telegram_text import Line, Piece, Text
from handlers.common import command_args, reply, reply_chunks, titled
from handlers.registry import Command
from storage.models import FramingStats, RuleChange
from storage.verdicts import TermReview, VerdictRepository

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
        reviews = await VerdictRepository(services.db).term_reviews(chosen[0].slug)
        await reply_chunks(update, _framing_lines(chosen[0], rescans, history, zone, reviews))
        return
    version = await services.framings.rules_version()
    lines: list[Line] = [[f"<b>{len(framings)} framings</b> · rules version {version}"]]
    for f in framings:
        lines += _summary_lines(f, rescans)
    await reply_chunks(update, lines)


def _summary_lines(f: FramingStats, rescans: dict[str, str]) -> list[Line]:
    """/framings: one framing with its first terms, and the terms the scan leaves out."""
    terms: list[Piece] = [Text("; ".join(f.terms[:TERMS_SHOWN]) or "(no terms)")]
    if len(f.terms) > TERMS_SHOWN:
        terms.append(f" …and {len(f.terms) - TERMS_SHOWN} more (/framings {f.slug})")
    lines: list[Line] = [
        [""],
        _framing_line(f.slug, f.title, f.post_count, rescans.get(f.slug, "")),
        [f"terms ({len(f.terms)}): ", *terms],
    ]
    broken = [t for t in f.terms if term_problem(t) is not None]
    if broken:
        lines.append(
            [
                f"⚠ broken, left out of scans ({len(broken)}): ",
                Text("; ".join(broken)),
                f" (/framings {f.slug} says why; fix with /unwatch and /watch)",
            ]
        )
    return lines


def _framing_lines(
    f: FramingStats,
    rescans: dict[str, str],
    history: Sequence[RuleChange],
    zone: ZoneInfo,
    reviews: Sequence[TermReview] = (),
) -> list[Line]:
    """/framings <slug>: every term of one framing with its hits, verdicts and precision
    (/review), and its latest rule changes."""
    by_text = {r.text: term_review_text(r) for r in reviews}
    lines: list[Line] = [
        _framing_line(f.slug, f.title, f.post_count, rescans.get(f.slug, "")),
        [f"{len(f.terms)} terms:"],
    ]
    for term in f.terms:
        problem = term_problem(term)
        broken: list[Piece] = [" — ⚠ broken, left out of scans: ", Text(problem)] if problem else []
        lines.append(["• ", Text(term), by_text.get(term, ""), *broken])
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


COMMANDS = [
    Command(
        ("framings",),
        list_framings,
        Role.MODERATOR,
        "/framings [&lt;framing&gt;]",
        "framings, their terms and matched posts",
    ),
]
