"""/trend <framing> (a chart of its last 30 days) and /alerts on|off (spike alerts).

Both are for everyone: a subscriber reads the digest and its alerts, and /trend is what
an alert points to. A chart shows only counts of posts, nothing a digest does not show.
"""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.constants import ParseMode

from bot.context import Context, services_of
from bot.localdays import local_day
from bot.roles import Role
from bot.telegram_text import MAX_CAPTION, Line, Text, render
from bot.trend_digest import CHART_DAYS, draw, last_days
from bot.trend_status import TrendDay, format_p
from handlers.common import command_args, reply
from handlers.registry import Command
from storage.alerts import AlertRepository


async def trend(update: Update, context: Context) -> None:
    services = services_of(context)
    chat = update.effective_chat
    args = command_args(update, 2)
    if chat is None:
        return
    if len(args) != 1:
        await reply(
            update,
            "Usage: /trend &lt;framing&gt;, e.g. /trend goodwill-gesture. "
            "/framings lists the framings.",
        )
        return
    slug = args[0].strip().lower()
    if not await services.framings.exists(slug):
        await reply(
            update, f"No framing is called <code>{escape(slug[:64])}</code>. /framings lists them."
        )
        return
    today = local_day(services.clock(), services.settings.zone)
    series = (await last_days(services, today, CHART_DAYS)).get(slug, [])
    png = await draw({slug: series}, f"{slug}: daily posts, last {CHART_DAYS} days")
    await chat.send_photo(png, caption=trend_caption(slug, series), parse_mode=ParseMode.HTML)


def trend_caption(slug: str, series: list[TrendDay]) -> str:
    spikes = sum(d.spike for d in series)
    total = sum(d.posts for d in series)
    lines: list[Line] = [
        ["<b>", Text(slug), f"</b>: {total} posts in {CHART_DAYS} days, {spikes} spike days"]
    ]
    if series:
        today = series[-1]
        if today.spike:
            now = (
                f"surging: {today.posts} vs {today.expected:.1f} expected "
                f"({format_p(today.p_value)})"
            )
        else:
            now = f"{today.posts} vs {today.expected:.1f} expected, spike limit {today.limit}"
        lines.append(["Today: ", Text(now)])
    return render(lines, MAX_CAPTION)[0]


async def alerts(update: Update, context: Context) -> None:
    services = services_of(context)
    chat = update.effective_chat
    if chat is None:
        return
    args = [a.lower() for a in command_args(update, 2)]
    repo = AlertRepository(services.db)
    if args not in (["on"], ["off"]):
        state = "on" if await repo.alerts_on(chat.id) else "off"
        await reply(update, f"Spike alerts are {state} here. Usage: /alerts on or /alerts off.")
        return
    on = args == ["on"]
    changed = await repo.set_alerts(chat.id, on, services.clock())
    if changed is None:
        await reply(update, "Alerts go to subscribers: /subscribe first, then /alerts on.")
    elif not changed:
        await reply(update, f"Spike alerts were already {args[0]} here.")
    elif on:
        await reply(
            update,
            "Spike alerts on: when a framing surges today, you get one short "
            "message per framing and day. /alerts off stops them.",
        )
    else:
        await reply(update, "Spike alerts off. /alerts on turns them back on.")


COMMANDS = [
    Command(
        ("trend",), trend, Role.EVERYONE, "/trend &lt;framing&gt;",
        "chart of a framing's daily posts, last 30 days",
    ),
    Command(
        ("alerts",), alerts, Role.EVERYONE, "/alerts on|off",
        "a short message when a framing surges (off by default)",
    ),
]  # fmt: skip
