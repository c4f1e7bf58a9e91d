"""`framewatch follow NAME`, `framewatch unfollow NAME`, `framewatch poll`: public channels."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.commands.common import with_services
from bot.links import post_link
from bot.sources.usernames import UsernameError, parse_username
from bot.terminal import clean

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.context import Services
    from bot.sources.poller import PollReport

NAME_HELP = "@name, name, https://t.me/name or t.me/s/name"


def add_to(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    follow = sub.add_parser(
        "follow",
        help="follow a public channel through its web preview (t.me/s/NAME)",
        description="Follow a public channel through its web preview (t.me/s/NAME): reads "
        "its newest page now; the bot's poll job then reads new posts, edits and older "
        "posts (FRAMEWATCH_BACKFILL_POSTS).",
    )
    follow.add_argument("name", help=NAME_HELP)
    follow.set_defaults(handler=_follow)
    unfollow = sub.add_parser(
        "unfollow",
        help="stop following a public channel (its stored posts stay)",
        description="Stop following a public channel; its stored posts stay.",
    )
    unfollow.add_argument("name", help=NAME_HELP)
    unfollow.set_defaults(handler=_unfollow)
    poll = sub.add_parser(
        "poll",
        help="poll every followed channel once now and print what was new",
        description="Poll every followed channel once now, whatever its schedule, and print "
        "the new and edited posts. Exits 1 if any channel could not be read.",
    )
    poll.set_defaults(handler=_poll)


def _username(raw: str) -> str | None:
    try:
        return parse_username(raw)
    except UsernameError as exc:
        print(f"framewatch: {clean(str(exc))}", file=sys.stderr)
        return None


async def _follow(settings: Settings, args: argparse.Namespace) -> int:
    from bot.sources.follow_text import follow_message
    from bot.sources.poller import FollowOutcome

    username = _username(args.name)
    if username is None:
        return 2

    async def work(services: Services) -> int:
        result = await services.web_poller().follow(username, None)
        interval = timedelta(seconds=settings.poll_interval_seconds)
        print(clean(follow_message(result, interval, settings.backfill_posts)))
        return 0 if result.outcome in {FollowOutcome.FOLLOWED, FollowOutcome.ALREADY} else 1

    return await with_services(settings.db_path, work, settings)


async def _unfollow(settings: Settings, args: argparse.Namespace) -> int:
    username = _username(args.name)
    if username is None:
        return 2

    async def work(services: Services) -> int:
        if not await services.follows.remove(username, None, services.clock()):
            print(f"framewatch: not following @{username}; nothing changed.", file=sys.stderr)
            return 1
        print(f"Stopped following @{username}; its stored posts stay.")
        return 0

    return await with_services(settings.db_path, work, settings)


async def _poll(settings: Settings, args: argparse.Namespace) -> int:
    async def work(services: Services) -> int:
        reports = await services.web_poller().poll_all()
        if not reports:
            print("No channels are followed. Follow one: framewatch follow NAME")
            return 0
        for report in reports:
            print(clean(_describe(report, settings), multiline=True))
        failed = [r for r in reports if r.state != "ok"]
        new = sum(len(r.new) for r in reports)
        edited = sum(len(r.edited) for r in reports)
        print(
            f"Polled {len(reports)} channel(s): {new} new post(s), {edited} edited; "
            f"{len(failed)} could not be read."
        )
        return 1 if failed else 0

    return await with_services(settings.db_path, work, settings)


def _describe(report: PollReport, settings: Settings) -> str:
    if report.state != "ok":
        return f"@{report.username}: {report.state}: {report.error}"
    lines = [
        f"@{report.username}: {len(report.new)} new, {len(report.edited)} edited, "
        f"{report.unchanged} unchanged ({report.pages} page(s))"
    ]
    for label, posts in (("new", report.new), ("edited", report.edited)):
        for post in sorted(posts, key=lambda p: p.message_id):
            link = post_link(post.chat_id, post.channel_username, post.message_id)
            when = post.posted_at.astimezone(settings.zone)
            snippet = " ".join(clean(post.text).split())
            snippet = snippet if len(snippet) <= 80 else snippet[:79] + "…"
            lines.append(f"  {label:6} {when:%Y-%m-%d %H:%M}  {link}  {snippet}")
    return "\n".join(lines)
