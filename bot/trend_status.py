"""How a framing stands on a day: the trend rows, and their one-line description.

Pure, and light to import (no numpy): the digest and the alerts use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal


@dataclass(frozen=True, slots=True)
class TrendDay:
    framing: str
    day: date
    posts: int
    channels: int
    share: float  # posts / all posts stored that day (0 when none were)
    expected: float
    limit: int  # the smallest count with p below the threshold
    p_value: float
    spike: bool
    new: bool  # the framing's first day ever


State = Literal["surging", "usual", "new"]


@dataclass(frozen=True, slots=True)
class TrendStatus:
    state: State
    posts: int
    expected: float
    p_value: float
    day: date


def status_of(series: Sequence[TrendDay], days: Sequence[date]) -> TrendStatus | None:
    """How a framing stands over `days` (the local days a digest period touches): its
    strongest spike, else "new" on its first day, else the usual level of its busiest day."""
    chosen = [d for d in series if d.day in set(days)]
    if not chosen:
        return None
    spikes = [d for d in chosen if d.spike]
    if spikes:
        top = min(spikes, key=lambda d: (d.p_value, -d.posts))
        return TrendStatus("surging", top.posts, top.expected, top.p_value, top.day)
    for d in chosen:
        if d.new:
            return TrendStatus("new", d.posts, d.expected, d.p_value, d.day)
    busiest = max(chosen, key=lambda d: (d.posts, d.day))
    return TrendStatus("usual", busiest.posts, busiest.expected, busiest.p_value, busiest.day)


def format_p(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


def describe(status: TrendStatus) -> str:
    """ "surging: 14 posts vs 2.1 expected (p < 0.001)", "usual: 3 vs 2.8" or "new"."""
    if status.state == "surging":
        return (
            f"surging: {status.posts} posts vs {status.expected:.1f} expected "
            f"({format_p(status.p_value)})"
        )
    if status.state == "new":
        return "new"
    return f"usual: {status.posts} vs {status.expected:.1f}"
