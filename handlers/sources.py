"""Followed public channels: /follow, /unfollow, their state in /channels, and the poll job."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import JobQueue

from bot.context import Context, services_of
from bot.roles import Role
from bot.sources.follow_text import follow_message
from bot.sources.usernames import USERNAME_FORMS, USERNAME_RULE, UsernameError, parse_username
from bot.telegram_text import Text, escape
from bot.work_polls import poll_claimed
from handlers.common import command_args, reply
from handlers.registry import Command

log = logging.getLogger(__name__)

POLL_TICK_SECONDS = 60  # how often the job looks for channels whose poll time has come
POLL_ROUNDS_PER_TICK = 50  # PostgreSQL: claims of a few follows each, per tick at most
FOLLOW_USAGE = (
    "Usage: /follow @channel — a public channel, read through its web preview "
    "(t.me/s/channel).\n" + escape(f"{USERNAME_FORMS} {USERNAME_RULE}")
)
UNFOLLOW_USAGE = "Usage: /unfollow @channel. /channels lists the followed channels."


async def follow(update: Update, context: Context) -> None:
    username = await _username_or_usage(update, FOLLOW_USAGE)
    if username is None:
        return
    services = services_of(context)
    user = update.effective_user
    result = await services.web_poller().follow(username, user.id if user else None)
    settings = services.settings
    interval = timedelta(seconds=settings.poll_interval_seconds)
    await reply(update, [Text(follow_message(result, interval, settings.backfill_posts))])


async def unfollow(update: Update, context: Context) -> None:
    username = await _username_or_usage(update, UNFOLLOW_USAGE)
    if username is None:
        return
    services = services_of(context)
    user = update.effective_user
    existing = await services.follows.get(username)
    if existing is None or not await services.follows.remove(
        username, user.id if user else None, services.clock()
    ):
        await reply(update, f"I am not following @{username}. {UNFOLLOW_USAGE}")
        return
    await reply(
        update,
        f"Stopped following @{username}. Its {existing.post_count} stored posts stay: "
        "search and digests still include them.",
    )


async def _username_or_usage(update: Update, usage: str) -> str | None:
    args = command_args(update, 1)
    if not args:
        await reply(update, usage)
        return None
    try:
        return parse_username(args[0])
    except UsernameError as exc:
        await reply(update, [Text(str(exc))], "", usage)
        return None


async def poll_job(context: Context) -> None:
    """Poll the followed channels whose time has come (each keeps its own schedule)."""
    services = services_of(context)
    if not services.db.dialect.is_sqlite:  # claimed, shared with `framewatch worker`s
        for _ in range(POLL_ROUNDS_PER_TICK):  # bounded: a slow poll of a short interval
            if not await poll_claimed(services):
                break
        return
    reports = await services.web_poller().poll_due()
    for report in reports:
        if report.new or report.edited:
            log.info("@%s: %d new, %d edited", report.username, len(report.new), len(report.edited))


COMMANDS = [
    Command(
        ("follow",),
        follow,
        Role.MODERATOR,
        "/follow @channel",
        "watch a public channel through its web preview",
    ),
    Command(
        ("unfollow",),
        unfollow,
        Role.MODERATOR,
        "/unfollow @channel",
        "stop watching it (its stored posts stay)",
    ),
]


def schedule(job_queue: JobQueue[Any]) -> None:
    settings = job_queue.application.bot_data.services.settings
    job_queue.run_repeating(
        poll_job,
        interval=min(POLL_TICK_SECONDS, settings.poll_interval_seconds),
        first=15,
        name="poll-followed",
        job_kwargs={"misfire_grace_time": 600, "coalesce": True, "max_instances": 1},
    )
