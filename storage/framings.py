"""Framings and their terms. Every change is audited in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage import audit
from storage.db import Database
from storage.models import FramingStats, TermRow
from storage.timeutil import iso


@dataclass(frozen=True, slots=True)
class AddTermResult:
    framing_created: bool
    term_added: bool  # False: the framing already had a term with this key


@dataclass(frozen=True, slots=True)
class PackFraming:
    slug: str
    title: str
    description: str
    terms: tuple[tuple[str, str], ...]  # (text, key)


class FramingRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_term(
        self, slug: str, text: str, key: str, actor: int | None, now: datetime
    ) -> AddTermResult:
        async with self._db.transaction() as conn:
            framing_id, created = await _ensure_framing(conn, slug, slug, "", actor, now)
            added = await _insert_term(conn, framing_id, text, key, actor, now)
            if added:
                await audit.record(conn, actor, "watch", f"{slug}: {text}", now)
        return AddTermResult(created, added)

    async def remove_term(
        self, slug: str, key: str, actor: int | None, now: datetime
    ) -> str | None:
        """Delete one term (and its matches); returns the removed term's text, or None."""
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT t.id, t.text FROM terms t JOIN framings f ON f.id = t.framing_id"
                " WHERE f.slug = ? AND t.key = ?",
                (slug, key),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            await conn.execute("DELETE FROM terms WHERE id = ?", (row[0],))
            await audit.record(conn, actor, "unwatch", f"{slug}: {row[1]}", now)
            return str(row[1])

    async def remove_framing(self, slug: str, actor: int | None, now: datetime) -> int | None:
        """Delete a framing with its terms and matches; returns how many terms it had."""
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT f.id, count(t.id) FROM framings f LEFT JOIN terms t ON t.framing_id = f.id"
                " WHERE f.slug = ? GROUP BY f.id",
                (slug,),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            await conn.execute("DELETE FROM framings WHERE id = ?", (row[0],))
            await audit.record(
                conn, actor, "unwatch", f"{slug} (whole framing, {row[1]} terms)", now
            )
            return int(row[1])

    async def load_pack(
        self, framings: list[PackFraming], actor: int | None, now: datetime
    ) -> tuple[int, int]:
        """Add framings and terms from a pack in one transaction; returns (framings, terms) new."""
        new_framings = new_terms = 0
        async with self._db.transaction() as conn:
            for framing in framings:
                framing_id, created = await _ensure_framing(
                    conn, framing.slug, framing.title, framing.description, actor, now
                )
                new_framings += created
                for text, key in framing.terms:
                    new_terms += await _insert_term(conn, framing_id, text, key, actor, now)
            if new_framings or new_terms:
                await audit.record(
                    conn, actor, "load-pack", f"{new_framings} framings, {new_terms} terms", now
                )
        return new_framings, new_terms

    async def exists(self, slug: str) -> bool:
        return await self._db.fetchone("SELECT 1 FROM framings WHERE slug = ?", (slug,)) is not None

    async def term_count(self, slug: str) -> int:
        return int(
            await self._db.fetchval(
                "SELECT count(*) FROM terms t JOIN framings f ON f.id = t.framing_id"
                " WHERE f.slug = ?",
                (slug,),
            )
        )

    async def list_with_stats(self) -> list[FramingStats]:
        rows = await self._db.fetchall(
            "SELECT f.id, f.slug, f.title,"
            " (SELECT count(DISTINCT m.post_id) FROM matches m WHERE m.framing_id = f.id) AS posts"
            " FROM framings f ORDER BY f.slug"
        )
        terms = await self._db.fetchall("SELECT framing_id, text FROM terms ORDER BY id")
        by_framing: dict[int, list[str]] = {}
        for t in terms:
            by_framing.setdefault(t[0], []).append(t[1])
        return [
            FramingStats(r["slug"], r["title"], tuple(by_framing.get(r["id"], ())), r["posts"])
            for r in rows
        ]

    async def all_terms(self) -> list[TermRow]:
        rows = await self._db.fetchall("SELECT id, framing_id, text FROM terms ORDER BY id")
        return [TermRow(r[0], r[1], r[2]) for r in rows]

    async def terms_to_backfill(self) -> list[TermRow]:
        rows = await self._db.fetchall(
            "SELECT id, framing_id, text FROM terms WHERE backfilled = 0 ORDER BY id"
        )
        return [TermRow(r[0], r[1], r[2]) for r in rows]


async def _ensure_framing(
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


async def _insert_term(
    conn: aiosqlite.Connection,
    framing_id: int,
    text: str,
    key: str,
    actor: int | None,
    now: datetime,
) -> bool:
    cur = await conn.execute(
        "INSERT OR IGNORE INTO terms (framing_id, text, key, created_at, created_by)"
        " VALUES (?, ?, ?, ?, ?)",
        (framing_id, text, key, iso(now), actor),
    )
    return cur.rowcount == 1
