"""What `framewatch inbox` and /inbox share: reading which updates to act on, and one line
per quarantined update (plain text; the bot escapes it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import tzinfo

from storage.inbox import QuarantinedUpdate

SELECTION_HELP = "update ids from the list (e.g. 1005 1007), or all"


class SelectionError(ValueError):
    """The words do not name quarantined updates; the message says what to write."""


def parse_selection(words: Sequence[str]) -> list[int] | None:
    """Update ids, or None for `all`."""
    if [w.lower() for w in words] == ["all"]:
        return None
    ids = []
    for word in words:
        try:
            ids.append(int(word.lstrip("#")))
        except ValueError:
            raise SelectionError(f"{word!r} is not an update id; give {SELECTION_HELP}") from None
    if not ids:
        raise SelectionError(f"say which updates: {SELECTION_HELP}")
    return ids


def kind_of(payload: str) -> str:
    """What the update was, from its raw JSON: its first field besides update_id."""
    try:
        data = json.loads(payload)
    except ValueError:
        return "not JSON"
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}"
    fields = [k for k in data if k != "update_id"]
    return str(fields[0])[:40] if fields else "empty"


def line(update: QuarantinedUpdate, zone: tzinfo) -> str:
    when = update.quarantined_at.astimezone(zone)
    return (
        f"{update.update_id}  {when:%Y-%m-%d %H:%M}  {kind_of(update.payload)}, "
        f"{update.attempts} attempt(s): {update.error}"
    )
