"""Review cards: what a card says, what its buttons carry, and per-term precision.

Pure: the handler (handlers/reviews.py) reads the cards from storage.verdicts and sends
these texts. Callback data is hostile input: parse_button accepts only what
button_data makes, and the handler checks it against the database before changing anything.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bot.digest import snippet
from bot.links import post_link
from bot.telegram_text import Line, Piece, Text, fit
from storage.verdicts import VERDICTS, Decision, ReviewCard, TermReview, Verdict

PRECISION_MIN_VERDICTS = 20  # /framings shows a term's precision from this many verdicts
WILSON_Z = 1.959964  # 95 % two-sided
LINE_LIMIT = 650  # units per card line: its six lines and newlines stay below 4096

LABELS: dict[Verdict, str] = {
    "correct": "correct",
    "wrong_framing": "not this framing",
    "debunk": "quoted to debunk it",
}
Action = Literal["correct", "wrong_framing", "debunk", "skip", "undo"]
_ACTION_CODES: dict[Action, str] = {
    "correct": "c",
    "wrong_framing": "w",
    "debunk": "d",
    "skip": "s",
    "undo": "u",
}
_CODE_ACTIONS = {code: action for action, code in _ACTION_CODES.items()}
_VERDICT_CODES: dict[Verdict | None, str] = {
    None: "n",
    "correct": "c",
    "wrong_framing": "w",
    "debunk": "d",
}
_CODE_VERDICTS = {code: verdict for verdict, code in _VERDICT_CODES.items()}
# rv:<action><verdict the card showed><scope: a = all framings, f = this one>:<post>:<framing>
_BUTTON = re.compile(r"rv:([cwdsu])([ncwd])([af]):([1-9][0-9]{0,17}):([1-9][0-9]{0,17})")


@dataclass(frozen=True, slots=True)
class Press:
    """A review button, as parsed from its callback data."""

    action: Action
    shown: Verdict | None  # the verdict the card showed: the press applies only if it still is
    one_framing: bool  # the next cards stay within the card's framing
    post_id: int
    framing_id: int

    @property
    def verdict(self) -> Verdict | None:
        """The verdict to store; None for undo (and skip, which stores nothing)."""
        return self.action if self.action in VERDICTS else None


def button_data(action: Action, card: ReviewCard, shown: Verdict | None, one_framing: bool) -> str:
    scope = "f" if one_framing else "a"
    codes = f"{_ACTION_CODES[action]}{_VERDICT_CODES[shown]}{scope}"
    return f"rv:{codes}:{card.post_id}:{card.framing_id}"


def parse_button(data: object) -> Press | None:
    """The press a review button made; None for anything else (forged, foreign, garbled)."""
    found = _BUTTON.fullmatch(data) if isinstance(data, str) else None
    if found is None:
        return None
    return Press(
        _CODE_ACTIONS[found[1]],
        _CODE_VERDICTS[found[2]],
        found[3] == "f",
        int(found[4]),
        int(found[5]),
    )


def card_text(card: ReviewCard, zone: ZoneInfo, note: Line | None = None) -> str:
    """The card: a note on the last decision, then the post excerpt with the match in bold,
    its channel, date, link, framing and term, and its verdict if it has one."""
    before, match, after = snippet(card.text, card.start, card.end)
    link = post_link(card.chat_id, card.channel_username, card.message_id)
    when = datetime.fromtimestamp(card.posted_at, zone)
    channel: list[Piece] = ["<i>", Text(card.channel_title or "untitled"), "</i>"]
    if card.channel_username:
        channel += [" @", Text(card.channel_username)]
    quote: list[Piece] = ["“", Text(before, cut_start=True)]
    if match:
        quote += ["<b>", Text(match), "</b>"]
    quote += [Text(after), "”"]
    lines: list[Line] = [note] if note else []
    lines += [
        [f"<b>Review</b> · framing <b>{html.escape(card.framing_slug)}</b> · term “",
         Text(card.term), "”"],
        quote,
        [*channel, f" · {when:%Y-%m-%d %H:%M}"],
        [f'<a href="{html.escape(link)}">{html.escape(link.removeprefix("https://"))}</a>'],
        [verdict_line(card, zone)],
    ]  # fmt: skip
    return "\n".join(fit(line, LINE_LIMIT) for line in lines)


def verdict_line(card: ReviewCard, zone: ZoneInfo) -> str:
    if card.verdict is None:
        return "Not reviewed yet. Is this the framing?"
    when = f" on {card.decided_at.astimezone(zone):%Y-%m-%d %H:%M}" if card.decided_at else ""
    return (
        f"Marked <b>{LABELS[card.verdict]}</b> by user {card.decided_by}{when}. "
        "A button changes it."
    )


def decided_note(card: ReviewCard, verdict: Verdict | None) -> Line:
    """The line above the next card saying what the last press did."""
    link = post_link(card.chat_id, card.channel_username, card.message_id)
    what = f"marked <b>{LABELS[verdict]}</b>" if verdict else "back to unreviewed"
    shown = html.escape(link.removeprefix("https://"))
    return [f"✔ {shown} ({html.escape(card.framing_slug)}): {what}."]


def refusal_text(decision: Decision) -> str | None:
    """Why a press changed nothing, for its answer; None when it changed something."""
    if decision.outcome == "gone":
        return (
            "That match is gone (post edited or deleted, or term removed). Nothing changed. "
            "/review shows the next card."
        )
    if decision.outcome == "conflict":
        now = LABELS[decision.verdict] if decision.verdict else "unreviewed"
        who = f" by user {decision.decided_by}" if decision.decided_by is not None else ""
        return (
            f"This card is out of date: the match is now {now}{who}. Nothing changed. "
            "/review <post link> shows it to change it."
        )
    if decision.outcome == "unchanged":
        return "It already has that verdict; nothing changed."
    return None


def done_text(note: Line | None, one_framing: str | None) -> str:
    scope = f" of {html.escape(one_framing)}" if one_framing else ""
    lines: list[Line] = [note] if note else []
    lines.append(
        [f"No more unreviewed matches{scope} after this point. /review starts again from the "
         "newest (skipped ones come back)."]
    )  # fmt: skip
    return "\n".join(fit(line, LINE_LIMIT) for line in lines)


def wilson_lower(successes: int, total: int, z: float = WILSON_Z) -> float:
    """The lower bound of the Wilson score interval of a proportion (0.0 for no trials)."""
    if total <= 0:
        return 0.0
    p = successes / total
    z2 = z * z
    centre = p + z2 / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    return max(0.0, (centre - margin) / (1 + z2 / total))


def term_review_text(review: TermReview) -> str:
    """ " · 12 hits · 20 reviewed: 15 correct, 5 wrong · precision ≥ 53% (Wilson 95%)"."""
    text = f" · {review.hits} hits"
    if not review.reviewed:
        return text
    wrong = review.wrong_framing + review.debunk
    text += f" · {review.reviewed} reviewed: {review.correct} correct, {wrong} wrong"
    if review.reviewed < PRECISION_MIN_VERDICTS:
        return text + f" (precision from {PRECISION_MIN_VERDICTS} verdicts)"
    bound = wilson_lower(review.correct, review.reviewed)
    return text + f" · precision ≥ {bound:.0%} (Wilson 95%)"
