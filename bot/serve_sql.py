"""The SQL functions the browser view's stored queries call (storage/browser_queries.py,
SQL_FUNCTIONS), registered on each of Datasette's connections by bot/serve_plugin.py.

Pure: links come from bot/links.py, local days and times from bot/localdays.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.links import parse_post_link, post_link
from bot.localdays import day_start, local_day
from bot.reviews import PRECISION_MIN_VERDICTS, wilson_lower
from bot.search_query import SearchInputError, lemma_query


def sql_functions(zone: ZoneInfo) -> list[tuple[str, int, Callable[..., Any]]]:
    """The SQL functions storage/browser_queries.py calls (SQL_FUNCTIONS), by name."""

    def ref(link: Any) -> Any:
        return parse_post_link(link) if isinstance(link, str) else None

    return [
        ("fw_link", 3, _link),
        ("fw_day", 1, lambda unix: _local(unix, zone, "%Y-%m-%d")),
        ("fw_time", 1, lambda unix: _local(unix, zone, "%Y-%m-%d %H:%M")),
        ("fw_days", 2, lambda unix, days: local_days(unix, days, zone)),
        ("fw_fts", 1, fts_query),
        ("fw_precision", 2, precision_percent),
        ("fw_lemma", 1, lemma_match),
        ("fw_ref_chat", 1, lambda link: getattr(ref(link), "chat_id", None)),
        ("fw_ref_username", 1, lambda link: getattr(ref(link), "username", None)),
        ("fw_ref_message", 1, lambda link: getattr(ref(link), "message_id", None)),
    ]


def lemma_match(text: Any) -> str:
    """The post_lemmas MATCH expression of what a reader typed, as /search builds it; a
    query it cannot read, or no words, matches nothing (an FTS5 error would end the page)."""
    if not isinstance(text, str):
        return '""'
    try:
        return lemma_query(text) or '""'
    except SearchInputError:
        return '""'


def precision_percent(correct: Any, reviewed: Any) -> float | None:
    """What /framings shows as a term's precision, in percent: the Wilson lower bound, from
    PRECISION_MIN_VERDICTS verdicts (None below)."""
    if not isinstance(correct, int) or not isinstance(reviewed, int):
        return None
    if reviewed < PRECISION_MIN_VERDICTS:
        return None
    return round(100 * wilson_lower(correct, reviewed), 1)


def _link(chat_id: Any, username: Any, message_id: Any) -> str | None:
    if not isinstance(chat_id, int) or not isinstance(message_id, int):
        return None
    return post_link(chat_id, username if isinstance(username, str) else None, message_id)


def _local(unix: Any, zone: ZoneInfo, pattern: str) -> str | None:
    if not isinstance(unix, int | float):
        return None
    try:
        return datetime.fromtimestamp(unix, UTC).astimezone(zone).strftime(pattern)
    except (OverflowError, OSError, ValueError):
        return None


def local_days(unix: Any, days: Any, zone: ZoneInfo) -> str:
    """The `days` local days (at most 3660) ending with the day of `unix`, as JSON
    [[start, end, "YYYY-MM-DD"], ...]: Unix-second [start, end) ranges, 23 or 25 hours long
    on DST days. "[]" for no posts yet (unix NULL)."""
    if not isinstance(unix, int | float) or not isinstance(days, int | float):
        return "[]"
    last = local_day(datetime.fromtimestamp(unix, UTC), zone)
    count = max(1, min(3660, int(days)))
    ranges = []
    for back in range(count - 1, -1, -1):
        day = last - timedelta(days=back)
        start, end = day_start(day, zone), day_start(day + timedelta(days=1), zone)
        ranges.append([int(start.timestamp()), int(end.timestamp()), day.isoformat()])
    return json.dumps(ranges)


def local_time(unix: int, zone: ZoneInfo) -> str:
    return _local(unix, zone, "%Y-%m-%d %H:%M") or str(unix)


_WORD = re.compile(r"\w+\*?")


def fts_query(text: Any) -> str:
    """Typed words as an FTS5 query: each word quoted (so no operator or stray quote can
    make it a syntax error), a trailing * kept as a prefix search; nothing matches nothing."""
    if not isinstance(text, str):
        return '""'
    words = [w for w in _WORD.findall(text) if w.rstrip("*")]
    if not words:
        return '""'
    return " ".join(f'"{w.rstrip("*")}"' + ("*" if w.endswith("*") else "") for w in words)
