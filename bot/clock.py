"""The injected time source: logic asks it for "now" and never reads the system clock itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]  # returns a UTC-aware datetime


def utc_now() -> datetime:
    """The real clock, injected at the edges (the bot, the command line)."""
    return datetime.now(UTC)
