"""How storage writes times: ISO 8601 UTC text for bookkeeping, Unix seconds for post dates."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: storage keeps UTC-aware times only")
    return moment.astimezone(UTC).isoformat()


def unix(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: storage keeps UTC-aware times only")
    return int(moment.timestamp())


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
