"""How an audit log entry is shown by /audit and `framewatch audit` (plain text)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # `framewatch audit` builds its parser from this module without it
    from storage.models import AuditEntry

DEFAULT_SHOWN = 20
MAX_SHOWN = 500  # a longer history is for `framewatch export`-style tools, not a chat


def audit_head(entry: AuditEntry, zone: ZoneInfo) -> str:
    """ "2026-11-25 10:00 · 123456789 · watch" (the detail follows, as user text)."""
    who = str(entry.user_id) if entry.user_id is not None else "system"
    return f"{entry.at.astimezone(zone):%Y-%m-%d %H:%M} · {who} · {entry.action}"
