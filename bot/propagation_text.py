"""Propagation in words, as lines for the renderer (bot/telegram_text.py): the digest's
lines and /propagation."""

from __future__ import annotations

from datetime import timedelta
from html import escape
from zoneinfo import ZoneInfo

from bot.propagation import Cluster, PropagationPost
from bot.propagation_report import FramingPropagation
from bot.telegram_text import Line, Piece, Text

TOP_AMPLIFIERS = 8
TOP_PUSHES = 3
PUSH_LINKS = 3


def duration(delta: timedelta) -> str:
    """A lag or window in round units: 40 min, 2 h 05 min, 3 d."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // (24 * 60)} d"


def first_seen_line(first: PropagationPost, tz: ZoneInfo) -> Line:
    moment = first.posted_at.astimezone(tz)
    return [
        "first seen in ",
        Text(first.channel),
        f" at {moment:%H:%M}",
        f' (<a href="{escape(first.link)}">link</a>)',
    ]


def push_line(cluster: Cluster) -> Line:
    push = cluster.push
    span = push[-1].posted_at - push[0].posted_at
    line: list[Piece] = [
        f"pushed by {len(push)} channels within {duration(span)} with near-identical text: "
    ]
    for index, post in enumerate(push[:PUSH_LINKS]):
        line += [", "] if index else []
        line += [f'<a href="{escape(post.link)}">', Text(post.channel), "</a>"]
    return line


def report(found: FramingPropagation, tz: ZoneInfo, days: int) -> list[Line]:
    """/propagation: first seen, top amplifiers with their lags, coordinated pushes."""
    lines: list[Line] = [["<b>Propagation of ", Text(found.framing), f"</b>, last {days} days"]]
    if found.first is not None:
        moment = found.first.posted_at.astimezone(tz)
        lines.append([*first_seen_line(found.first, tz), f", {moment:%Y-%m-%d}"])
    lines.append([""])
    lines.append([f"<b>Amplifiers</b> ({len(found.amplifiers)} channels)"])
    for a in found.amplifiers[:TOP_AMPLIFIERS]:
        forwards = f", {a.forwards} forwarded" if a.forwards else ""
        lines.append(["• ", Text(a.channel), f": {a.posts} posts{forwards}, +{duration(a.lag)}"])
    if not found.amplifiers:
        lines.append(["none: no other channel carried it"])
    lines.append([""])
    pushes = found.pushes
    lines.append([f"<b>Coordinated pushes</b> ({len(pushes)}; window {duration(found.window)})"])
    lines += [["• ", *push_line(p)] for p in pushes[:TOP_PUSHES]]
    if not pushes:
        lines.append(["none found"])
    return lines
