"""How a follow and a followed channel's polling state are told to people (plain text).

Shared by /follow, /channels and `framewatch follow`.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.sources.poller import FollowOutcome, FollowResult, PollReport
from storage.models import Follow


def follow_message(result: FollowResult, interval: timedelta, backfill_posts: int) -> str:
    """What the moderator is told after /follow or `framewatch follow` (plain text)."""
    name = f"@{result.username}" + (f" ({result.title})" if result.title else "")
    if result.outcome is FollowOutcome.ALREADY:
        state = result.follow.state if result.follow else "ok"
        return f"Already following {name} (state: {state}); nothing changed."
    if result.outcome is FollowOutcome.UNAVAILABLE:
        return (
            f"Cannot follow @{result.username}: {result.detail}. Nothing changed. Only public "
            "channels can be followed; for another channel, add the bot as an administrator."
        )
    if result.outcome is FollowOutcome.FAILED:
        return f"Could not check @{result.username}: {result.detail}. Nothing changed; try again."
    report = result.report or PollReport(result.username)
    kept = len(report.new) + len(report.edited) + report.unchanged
    text = f"Following {name}: stored {kept} posts from its newest page"
    if report.other_source:
        text += f" ({report.other_source} more were stored already by the bot or an import)"
    if backfill_posts > kept:
        text += f"; older posts, up to {backfill_posts} in all, arrive over the next polls"
    minutes = max(1, round(interval.total_seconds() / 60))
    return f"{text}. New posts and edits are read about every {minutes} minutes."


def follow_state(follow: Follow, zone: ZoneInfo) -> str:
    """How /channels shows a followed channel's polling state (plain text)."""
    last = (
        f"{follow.last_poll_at.astimezone(zone):%Y-%m-%d %H:%M}" if follow.last_poll_at else "never"
    )
    parts = ["followed", "ok" if follow.state == "ok" else f"{follow.state}: {follow.last_error}"]
    parts.append(f"last poll {last}")
    if follow.state != "ok":
        parts.append(f"next try {follow.next_poll_at.astimezone(zone):%Y-%m-%d %H:%M}")
    if follow.backfill_before is not None and follow.backfill_left > 0:
        parts.append("still reading older posts")
    return " · ".join(parts)
