"""A chat's own digest settings: parsing what users type, and resolving the bot's defaults.

Pure (no clock, no storage): /settings parses with these, the delivery resolves stored
choices into a schedule (HH:MM in a zone) and a DigestView (what the digest shows).
"""

from __future__ import annotations

import logging
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from bot.config import Settings, zone_named
from storage.numbers import ascii_int
from storage.subscriber_settings import SubscriberPrefs

log = logging.getLogger(__name__)

ZONE_NAME_MAX = 64  # the longest IANA name is about 32 characters
_ZONE_CHARS = re.compile(r"[A-Za-z0-9_+\-/]+")
# Files in a system's zoneinfo folder that are no zone of their own: the host's zone, and
# the copies kept for POSIX and leap-second clocks.
_NOT_ZONES = ("localtime", "posixrules", "factory")
_NOT_ZONE_TREES = ("posix/", "right/")
SWITCH = {"on": True, "yes": True, "compact": True, "off": False, "no": False, "full": False}


@dataclass(frozen=True, slots=True)
class DigestView:
    """What one digest shows: its time zone, which framings (slugs; None: all), which form."""

    zone: ZoneInfo
    framings: frozenset[str] | None = None
    compact: bool = False

    def shows(self, slug: str) -> bool:
        return self.framings is None or slug in self.framings


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a chat's daily digest goes out: its own time and zone, or the bot's."""

    at: time
    zone: ZoneInfo

    @property
    def label(self) -> str:
        return f"{self.at:%H:%M} ({self.zone.key})"


def parse_time(text: str) -> str | None:
    """ "08:30" or "8:30" as "08:30"; None unless it is a time of day as H:MM or HH:MM."""
    hours_text, sep, minutes_text = text.strip().partition(":")
    hours, minutes = ascii_int(hours_text), ascii_int(minutes_text)
    if not sep or hours is None or minutes is None or len(minutes_text) != 2:
        return None
    if not (len(hours_text) <= 2 and 0 <= hours <= 23 and 0 <= minutes <= 59):
        return None
    return f"{hours:02d}:{minutes:02d}"


def parse_zone(text: str) -> str | None:
    """The IANA name `text` means ("europe/kyiv" -> "Europe/Kyiv"), or None.

    Only names tzdata lists: "localtime", paths or a folder ("Europe") are refused.
    """
    name = text.strip()
    if not name or len(name) > ZONE_NAME_MAX or not _ZONE_CHARS.fullmatch(name):
        return None
    if name.lower() in _NOT_ZONES or name.lower().startswith(_NOT_ZONE_TREES):
        return None
    zones = {zone.lower(): zone for zone in zoneinfo.available_timezones()}
    found = zones.get(name.lower())
    return found if found is not None and zone_named(found) is not None else None


def parse_switch(text: str) -> bool | None:
    return SWITCH.get(text.strip().lower())


def parse_framings(text: str, known: Mapping[str, int]) -> tuple[list[int] | None, list[str]]:
    """ "all" or "slug1,slug2" -> (framing ids, or None for all; the names not known)."""
    if text.strip().lower() == "all":
        return None, []
    names = [n.strip().lower() for n in re.split(r"[,\s]+", text) if n.strip()]
    unknown = [n for n in dict.fromkeys(names) if n not in known]
    return sorted({known[n] for n in names if n in known}), unknown


def toggled(
    chosen: Iterable[int] | None, every: Iterable[int], framing_id: int
) -> list[int] | None:
    """The selection with `framing_id` switched; None when that makes it every framing."""
    all_ids = set(every)
    selection = set(all_ids if chosen is None else chosen)
    selection ^= {framing_id}
    return None if selection >= all_ids else sorted(selection)


def schedule_of(prefs: SubscriberPrefs, settings: Settings) -> Schedule:
    return schedule_from(prefs.digest_time, prefs.timezone, settings)


def schedule_from(at: str | None, zone: str | None, settings: Settings) -> Schedule:
    """The schedule these stored values mean; a value that no longer parses (tzdata
    dropped a zone, say) falls back to the bot's default rather than stopping the digest."""
    parsed = parse_time(at) if at is not None else None
    found = zone_named(zone) if zone is not None else None
    if (at is not None and parsed is None) or (zone is not None and found is None):
        log.warning("stored digest schedule %r %r unreadable: using the default", at, zone)
    when = time(int(parsed[:2]), int(parsed[3:])) if parsed else settings.digest_time
    return Schedule(when, found or settings.zone)


def view_of(prefs: SubscriberPrefs, settings: Settings) -> DigestView:
    framings = None if prefs.framings is None else frozenset(prefs.framings)
    return DigestView(schedule_of(prefs, settings).zone, framings, prefs.compact)


def default_schedule(settings: Settings) -> tuple[str, str]:
    """The bot's (HH:MM, zone), as storage compares schedules."""
    return f"{settings.digest_time:%H:%M}", settings.timezone
