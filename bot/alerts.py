"""Spike alerts: after a scan, subscribers who turned alerts on hear once per framing and
day that it crossed today's spike limit.

Each alert is recorded (storage.alerts) before it is sent, so a crash or restart never
sends it twice; one Telegram surely did not take (a flood wait that outlasted the rate
limiter's retries, the network down) is tried again after the next scan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.context import Services
from bot.delivery import send_html
from bot.links import post_link
from bot.localdays import day_start, local_day
from bot.telegram_text import Line, Piece, Text, render
from bot.trend_data import load_trends, trend_params
from bot.trend_status import TrendDay, format_p
from storage.alerts import AlertRepository
from storage.timeutil import unix
from storage.trends import LinkedPost, TrendRepository

log = logging.getLogger(__name__)

LINKS = 3  # latest posts linked in an alert, besides the first seen


@dataclass(slots=True)
class AlertReport:
    spikes: list[str] = field(default_factory=list)
    sent: list[tuple[str, int]] = field(default_factory=list)
    postponed: list[tuple[str, int]] = field(default_factory=list)
    deactivated: list[int] = field(default_factory=list)


async def send_alerts(bot: Bot, services: Services) -> AlertReport:
    """Alert every opted-in subscriber of today's spikes not yet alerted (or postponed)."""
    report = AlertReport()
    repo = AlertRepository(services.db)
    chats = await repo.subscribers()
    if not chats:
        return report
    tz = services.settings.zone
    today = local_day(services.clock(), tz)
    series = await load_trends(services.db, tz, today, today, trend_params(services.settings))
    for slug in sorted(series):
        day = series[slug][-1]
        if not day.spike:
            continue
        report.spikes.append(slug)
        text = alert_text(day, await _posts(services, slug, today))
        for chat_id in chats:
            if chat_id in report.deactivated:
                continue
            if await repo.claim(slug, today.isoformat(), chat_id, text, services.clock()):
                await _send(bot, services, repo, day, chat_id, text, report)
    return report


async def _posts(services: Services, slug: str, today: date) -> list[LinkedPost]:
    tz = services.settings.zone
    start = unix(day_start(today, tz))
    end = unix(day_start(today + timedelta(days=1), tz))
    return await TrendRepository(services.db).matched_posts(slug, start, end)


def alert_text(day: TrendDay, posts: list[LinkedPost]) -> str:
    """Short HTML: the framing, its counts against the expected level, links."""
    lines: list[Line] = [
        [
            "<b>Spike: ",
            Text(day.framing),
            "</b>",
            Text(
                f" — {day.posts} posts in {day.channels} channels today vs "
                f"{day.expected:.1f} expected ({format_p(day.p_value)})"
            ),
        ]
    ]
    if posts:
        lines.append(["First seen: ", *_link(posts[0])])
        latest = list(reversed(posts[1:]))[:LINKS]
        if latest:
            line: list[Piece] = ["Latest: "]
            for index, post in enumerate(latest):
                line += [" · "] if index else []
                line += _link(post)
            lines.append(line)
    lines.append(["/trend ", Text(day.framing), " draws the last 30 days · /alerts off stops"])
    return render(lines)[0]  # a few short lines: always one message


def _link(post: LinkedPost) -> Line:
    url = post_link(post.chat_id, post.username, post.message_id)
    return [f'<a href="{escape(url)}">', Text(url.removeprefix("https://")), "</a>"]


async def _send(
    bot: Bot,
    services: Services,
    repo: AlertRepository,
    day: TrendDay,
    chat_id: int,
    text: str,
    report: AlertReport,
) -> None:
    key = day.day.isoformat()
    status = "sent"
    try:
        await send_html(bot, chat_id, text)
    except TimedOut:
        # It may well have arrived: a second copy would be worse than none.
        log.warning("alert %s %s to %s timed out: not resent", day.framing, key, chat_id)
    except Forbidden:
        status = "failed"
        await services.subscribers.unsubscribe(
            chat_id, services.clock(), note="alert failed: the bot was blocked"
        )
        report.deactivated.append(chat_id)
    except BadRequest as exc:
        status = "failed"
        log.error("alert %s %s to %s rejected: %s", day.framing, key, chat_id, exc)
    except (RetryAfter, NetworkError) as exc:
        status = "postponed"
        log.warning("alert %s %s to %s postponed: %s", day.framing, key, chat_id, exc)
    await repo.finish(day.framing, key, chat_id, status, services.clock())
    if status == "sent":
        report.sent.append((day.framing, chat_id))
    elif status == "postponed":
        report.postponed.append((day.framing, chat_id))
