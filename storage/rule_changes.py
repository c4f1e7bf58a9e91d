"""The steps every change of the rules shares, inside the caller's transaction: a new rules
version, its line in rule_changes, a framing created on first use, a term inserted once,
and the per-framing term limit. Used by storage/framings.py (/watch, /unwatch) and
storage/packs.py (framing packs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.backend import Tx
from storage.nul import without_nul
from storage.timeutil import iso


class TermLimitError(ValueError):
    """An import would give a framing more terms than allowed; nothing was imported."""

    def __init__(self, slug: str, count: int, limit: int) -> None:
        super().__init__(
            f"framing {slug} would have {count} terms, more than the {limit} allowed: "
            "remove some terms from the pack or from the framing (/unwatch)"
        )
        self.slug = slug
        self.count = count
        self.limit = limit


_RECORD = (
    "INSERT INTO rule_changes (version, framing_slug, term_text, change, user_id, via, at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


async def term_count(conn: Tx, framing_id: int) -> int:
    return int(
        await conn.fetchval("SELECT count(*) FROM terms WHERE framing_id = ?", (framing_id,))
    )


async def next_version(conn: Tx) -> int:
    # Inside the change's write transaction (one writer at a time on either database, see
    # storage.backend): no other writer can take it too.
    return int(await conn.fetchval("SELECT coalesce(max(version), 0) + 1 FROM rule_changes"))


async def record(
    conn: Tx,
    version: int,
    slug: str,
    text: str,
    change: str,
    actor: int | None,
    via: str,
    now: datetime,
) -> None:
    await conn.execute(_RECORD, (version, slug, text, change, actor, via, iso(now)))


async def record_many(
    conn: Tx,
    version: int,
    slug: str,
    texts: Sequence[str],
    change: str,
    actor: int | None,
    via: str,
    now: datetime,
) -> None:
    """record() of each text, in order, in one round trip."""
    await conn.executemany(
        _RECORD, [(version, slug, text, change, actor, via, iso(now)) for text in texts]
    )


async def ensure_framing(
    conn: Tx,
    slug: str,
    title: str,
    description: str,
    actor: int | None,
    now: datetime,
) -> tuple[int, bool]:
    found = await conn.fetchval("SELECT id FROM framings WHERE slug = ?", (slug,))
    if found is not None:
        return int(found), False
    new_id = await conn.fetchval(
        "INSERT INTO framings (slug, title, description, created_at, created_by)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id",
        (slug, without_nul(title), without_nul(description), iso(now), actor),
    )
    return int(new_id), True


async def insert_term(
    conn: Tx,
    framing_id: int,
    text: str,
    key: str,
    version: int,
    actor: int | None,
    now: datetime,
) -> bool:
    inserted = await conn.execute(_INSERT_TERM, (framing_id, text, key, version, iso(now), actor))
    return inserted == 1


async def insert_terms(
    conn: Tx,
    framing_id: int,
    terms: Sequence[tuple[str, str]],
    version: int,
    actor: int | None,
    now: datetime,
) -> None:
    """insert_term() of each (key, text) in one round trip; the keys must be new ones."""
    await conn.executemany(
        _INSERT_TERM, [(framing_id, text, key, version, iso(now), actor) for key, text in terms]
    )


_INSERT_TERM = (
    "INSERT INTO terms (framing_id, text, key, version, created_at, created_by)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (framing_id, key) DO NOTHING"
)
