"""The steps every change of the rules shares, inside the caller's transaction: a new rules
version, its line in rule_changes, a framing created on first use, a term inserted once,
and the per-framing term limit. Used by storage/framings.py (/watch, /unwatch) and
storage/packs.py (framing packs)."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

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


async def term_count(conn: aiosqlite.Connection, framing_id: int) -> int:
    async with conn.execute(
        "SELECT count(*) FROM terms WHERE framing_id = ?", (framing_id,)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def next_version(conn: aiosqlite.Connection) -> int:
    # Inside the change's BEGIN IMMEDIATE transaction: no other writer can take it too.
    async with conn.execute("SELECT coalesce(max(version), 0) + 1 FROM rule_changes") as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def record(
    conn: aiosqlite.Connection,
    version: int,
    slug: str,
    text: str,
    change: str,
    actor: int | None,
    via: str,
    now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO rule_changes (version, framing_slug, term_text, change, user_id, via, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (version, slug, text, change, actor, via, iso(now)),
    )


async def ensure_framing(
    conn: aiosqlite.Connection,
    slug: str,
    title: str,
    description: str,
    actor: int | None,
    now: datetime,
) -> tuple[int, bool]:
    async with conn.execute("SELECT id FROM framings WHERE slug = ?", (slug,)) as cur:
        row = await cur.fetchone()
    if row is not None:
        return int(row[0]), False
    cur = await conn.execute(
        "INSERT INTO framings (slug, title, description, created_at, created_by)"
        " VALUES (?, ?, ?, ?, ?)",
        (slug, title, description, iso(now), actor),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid, True


async def insert_term(
    conn: aiosqlite.Connection,
    framing_id: int,
    text: str,
    key: str,
    version: int,
    actor: int | None,
    now: datetime,
) -> bool:
    cur = await conn.execute(
        "INSERT OR IGNORE INTO terms (framing_id, text, key, version, created_at, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (framing_id, text, key, version, iso(now), actor),
    )
    return cur.rowcount == 1
