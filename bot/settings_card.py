"""The /settings card: its text, its inline keyboard and the buttons' callback data.

Callback data is at most 64 bytes, so buttons carry framing ids, never slugs:
  set:f:<framing id>:<page>  switch one framing      set:p:<page>  show a page of framings
  set:a:<page>               choose all framings     set:c:<page>  switch compact / full
  set:t                      show the hours          set:h:<HH>|d  digest at HH:00 / default
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.subscriber_settings import Schedule
from bot.telegram_text import Line, Text, fit
from storage.subscriber_settings import SubscriberPrefs

CARD_TITLE = "Digest settings of this chat"
PER_PAGE = 10  # framing buttons per page, two per row
HOURS_PER_ROW = 6
_LINE_MAX = 900  # each card line; six of them stay far below a message's 4096
_BUTTON = re.compile(
    r"set:(?:(?P<f>f):(?P<id>[0-9]{1,18}):(?P<fp>[0-9]{1,6})"
    r"|(?P<act>[acp]):(?P<page>[0-9]{1,6})|(?P<t>t)|h:(?P<hour>[01][0-9]|2[0-3]|d))"
)


@dataclass(frozen=True, slots=True)
class Button:
    action: str  # "f" framing, "a" all, "c" compact, "p" page, "t" hours, "h" set hour
    page: int = 0
    framing_id: int = 0
    hour: int | None = None  # for "h": None means the bot's default time


def parse_button(data: object) -> Button | None:
    """The button FrameWatch made with this data; None for anything else."""
    found = _BUTTON.fullmatch(data) if isinstance(data, str) else None
    if found is None:
        return None
    if found["f"]:
        return Button("f", int(found["fp"]), int(found["id"]))
    if found["act"]:
        return Button(found["act"], int(found["page"]))
    if found["t"]:
        return Button("t")
    hour = found["hour"]
    return Button("h", hour=None if hour == "d" else int(hour))


def card_text(
    prefs: SubscriberPrefs,
    schedule: Schedule,
    framings: dict[int, tuple[str, str]],
    subscribed: bool,
    note: str = "",
) -> str:
    """The card: each setting, whether it is the bot's default, and how to change it."""
    default = " · the bot's default" if prefs.digest_time is None and prefs.timezone is None else ""
    form = (
        "<b>compact</b>: one message, each framing's counts, how it stands and its first link"
        if prefs.compact
        else "<b>full</b>: every framing with its posts"
    )
    # The title comes first: a press is honoured only on a message that starts with it.
    lines: list[Line] = [[f"<b>{CARD_TITLE}</b>"]]
    lines += [
        [f"Time: <b>{schedule.at:%H:%M}</b> (", Text(schedule.zone.key), f"){default}"],
        [f"Form: {form}"],
        _framings_line(prefs, framings),
        [
            "This chat is subscribed."
            if subscribed
            else "This chat is not subscribed: /subscribe turns the daily digest on."
        ],
        [
            "Change with the buttons, or: /settings time 08:30 · /settings tz Europe/Kyiv · "
            "/settings framings all|slug1,slug2 · /settings compact on|off"
        ],
    ]
    if note:
        lines.append(["<i>", Text(note), "</i>"])
    return "\n".join(fit(line, _LINE_MAX) for line in lines)


def _framings_line(prefs: SubscriberPrefs, framings: dict[int, tuple[str, str]]) -> Line:
    if prefs.framings is None:
        return [f"Framings: <b>all</b> ({len(framings)}, and those added later)"]
    if not prefs.framings:
        return ["Framings: <b>none left</b> (the chosen ones were removed): choose some below"]
    chosen = ", ".join(prefs.framings)
    return [f"Framings: <b>{len(prefs.framings)} of {len(framings)}</b>: ", Text(chosen)]


def pages(framings: dict[int, tuple[str, str]]) -> int:
    return max(1, -(-len(framings) // PER_PAGE))


def keyboard(
    prefs: SubscriberPrefs, schedule: Schedule, framings: dict[int, tuple[str, str]], page: int
) -> InlineKeyboardMarkup:
    """Framing switches (a page of them), paging, all framings, the form, the time."""
    page = min(max(page, 0), pages(framings) - 1)
    ordered = sorted(framings.items(), key=lambda item: item[1][0])
    shown = ordered[page * PER_PAGE : (page + 1) * PER_PAGE]
    switches = [
        InlineKeyboardButton(
            f"{'✅' if _chosen(prefs, slug) else '▫️'} {slug}", callback_data=f"set:f:{fid}:{page}"
        )
        for fid, (slug, _title) in shown
    ]
    rows = [switches[i : i + 2] for i in range(0, len(switches), 2)]
    if pages(framings) > 1:
        rows.append(
            [
                InlineKeyboardButton("‹", callback_data=f"set:p:{max(page - 1, 0)}"),
                InlineKeyboardButton(
                    f"{page + 1}/{pages(framings)}", callback_data=f"set:p:{page}"
                ),
                InlineKeyboardButton("›", callback_data=f"set:p:{page + 1}"),
            ]
        )
    form = "Full form" if prefs.compact else "Compact form"
    rows.append(
        [
            InlineKeyboardButton("All framings", callback_data=f"set:a:{page}"),
            InlineKeyboardButton(form, callback_data=f"set:c:{page}"),
        ]
    )
    rows.append([InlineKeyboardButton(f"Time: {schedule.at:%H:%M}", callback_data="set:t")])
    return InlineKeyboardMarkup(rows)


def hours_keyboard() -> InlineKeyboardMarkup:
    hours = [
        InlineKeyboardButton(f"{hour:02d}:00", callback_data=f"set:h:{hour:02d}")
        for hour in range(24)
    ]
    rows = [hours[i : i + HOURS_PER_ROW] for i in range(0, 24, HOURS_PER_ROW)]
    rows.append(
        [
            InlineKeyboardButton("The bot's time", callback_data="set:h:d"),
            InlineKeyboardButton("‹ Back", callback_data="set:p:0"),
        ]
    )
    return InlineKeyboardMarkup(rows)


def _chosen(prefs: SubscriberPrefs, slug: str) -> bool:
    return prefs.framings is None or slug in prefs.framings
