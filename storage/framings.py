"""Framings and their terms, with the versioned history of every term change.

Each change is audited, and recorded in rule_changes under a new rules version, in the
transaction that makes it: the scan compiles its matcher once per rules version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage import audit
from storage.db import Database
from storage.models import FramingStats, RuleChange, TermRow
from storage.timeutil import from_iso, iso

# Enforced here, in the transaction that adds terms, so no two writers can pass it together.
MAX_TERMS_PER_FRAMING = 500


@dataclass(frozen=True, slots=True)
class RemovedTerm:
    text: str  # the removed term as it was written
    version: int  # the rules version this removal wrote


@dataclass(frozen=True, slots=True)
class RemovedFraming:
    terms: int  # how many terms the framing had
    version: int  # the rules version this removal wrote


@dataclass(frozen=True, slots=True)
class AddTermResult:
    framing_created: bool
    term_added: bool  # False: the framing already had a term with this key
    version: int | None = None  # the rules version of the change; None when nothing changed


@dataclass(frozen=True, slots=True)
class PackFraming:
    """A framing as a pack lists it. title/description None: keep the stored ones."""

    slug: str
    title: str | None
    description: str | None
    terms: tuple[tuple[str, str], ...]  # (text, key)


@dataclass(frozen=True, slots=True)
class FramingImport:
    """What importing one framing of a pack changed."""

    slug: str
    created: bool
    title_changed: bool
    description_changed: bool
    added: tuple[str, ...]  # terms new to the framing
    already: int  # terms of the pack the framing already had
    kept: tuple[str, ...]  # terms of the framing the pack does not list (kept, not removed)

    @property
    def changed(self) -> bool:
        return self.created or self.title_changed or self.description_changed or bool(self.added)


@dataclass(frozen=True, slots=True)
class PackImport:
    framings: tuple[FramingImport, ...]
    version: int | None  # the rules version of the new terms; None: no term was added


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


class FramingRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_term(
        self,
        slug: str,
        text: str,
        key: str,
        actor: int | None,
        now: datetime,
        via: str = "/watch",
        max_terms: int = MAX_TERMS_PER_FRAMING,
    ) -> AddTermResult:
        """Add a term; TermLimitError (nothing changed) if the framing has max_terms already.

        The limit is checked in the same transaction as the insert, so two concurrent
        /watch cannot both pass it."""
        async with self._db.transaction() as conn:
            framing_id, created = await _ensure_framing(conn, slug, slug, "", actor, now)
            count = await _term_count(conn, framing_id)
            if count >= max_terms:
                raise TermLimitError(slug, count + 1, max_terms)  # rolls back a new framing
            version = await _next_version(conn)
            if not await _insert_term(conn, framing_id, text, key, version, actor, now):
                return AddTermResult(created, False, None)
            await _record(conn, version, slug, text, "added", actor, via, now)
            await audit.record(conn, actor, "watch", f"{slug}: {text}", now)
        return AddTermResult(created, True, version)

    async def remove_term(
        self, slug: str, key: str, actor: int | None, now: datetime, via: str = "/unwatch"
    ) -> RemovedTerm | None:
        """Delete one term (and its matches); returns what was removed, or None."""
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
            version = await _next_version(conn)
            await _record(conn, version, slug, row[1], "removed", actor, via, now)
            await audit.record(conn, actor, "unwatch", f"{slug}: {row[1]}", now)
            return RemovedTerm(str(row[1]), version)

    async def remove_framing(
        self, slug: str, actor: int | None, now: datetime, via: str = "/unwatch"
    ) -> RemovedFraming | None:
        """Delete a framing with its terms and matches; returns what was removed, or None."""
        async with self._db.transaction() as conn:
            async with conn.execute("SELECT id FROM framings WHERE slug = ?", (slug,)) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            async with conn.execute(
                "SELECT text FROM terms WHERE framing_id = ? ORDER BY id", (row[0],)
            ) as cur:
                texts = [str(r[0]) for r in await cur.fetchall()]
            await conn.execute("DELETE FROM framings WHERE id = ?", (row[0],))
            version = await _next_version(conn)
            for text in texts:
                await _record(conn, version, slug, text, "removed", actor, via, now)
            await audit.record(
                conn, actor, "unwatch", f"{slug} (whole framing, {len(texts)} terms)", now
            )
            return RemovedFraming(len(texts), version)

    async def import_pack(
        self,
        pack: list[PackFraming],
        actor: int | None,
        now: datetime,
        via: str,
        max_terms: int,
    ) -> PackImport:
        """Add or update every framing of a pack in one transaction.

        New framings are created, titles and descriptions updated, new terms added; terms
        the pack does not list are kept. TermLimitError (nothing imported) when a framing
        would end up with more than max_terms terms.
        """
        async with self._db.transaction() as conn:
            version = await _next_version(conn)
            results = tuple(
                [
                    await _import_framing(conn, framing, version, actor, via, now, max_terms)
                    for framing in pack
                ]
            )
            changed = [r for r in results if r.changed]
            added = sum(len(r.added) for r in results)
            if changed:
                created = sum(r.created for r in results)
                await audit.record(
                    conn,
                    actor,
                    "import-pack",
                    f"{via}: {created} new framings, {len(changed) - created} updated, "
                    f"{added} terms added",
                    now,
                )
        return PackImport(results, version if added else None)

    async def export_pack(self) -> list[PackFraming]:
        """Every framing with its terms in the order they were added, by slug."""
        framings = await self._db.fetchall(
            "SELECT id, slug, title, description FROM framings ORDER BY slug"
        )
        terms = await self._db.fetchall("SELECT framing_id, text, key FROM terms ORDER BY id")
        by_framing: dict[int, list[tuple[str, str]]] = {}
        for t in terms:
            by_framing.setdefault(t[0], []).append((t[1], t[2]))
        return [
            PackFraming(r["slug"], r["title"], r["description"], tuple(by_framing.get(r["id"], ())))
            for r in framings
        ]

    async def history(self, slug: str, limit: int = 10) -> list[RuleChange]:
        """The framing's latest term changes, newest first (kept after a term is removed)."""
        rows = await self._db.fetchall(
            "SELECT version, term_text, change, user_id, via, at FROM rule_changes"
            " WHERE framing_slug = ? ORDER BY id DESC LIMIT ?",
            (slug, limit),
        )
        return [RuleChange(r[0], r[1], r[2], r[3], r[4], from_iso(r[5])) for r in rows]

    async def rules_version(self) -> int:
        return int(await self._db.fetchval("SELECT coalesce(max(version), 0) FROM rule_changes"))

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

    async def names(self) -> dict[int, tuple[str, str]]:
        """framing id -> (slug, title)."""
        rows = await self._db.fetchall("SELECT id, slug, title FROM framings")
        return {r[0]: (r[1], r[2]) for r in rows}

    async def list_with_stats(self) -> list[FramingStats]:
        rows = await self._db.fetchall(
            "SELECT f.id, f.slug, f.title,"
            # trend_posts: one row per post with a counted match of the framing (0010, 0015).
            " (SELECT count(*) FROM trend_posts t WHERE t.framing_id = f.id) AS posts"
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


async def _term_count(conn: aiosqlite.Connection, framing_id: int) -> int:
    async with conn.execute(
        "SELECT count(*) FROM terms WHERE framing_id = ?", (framing_id,)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _next_version(conn: aiosqlite.Connection) -> int:
    # Inside the change's BEGIN IMMEDIATE transaction: no other writer can take it too.
    async with conn.execute("SELECT coalesce(max(version), 0) + 1 FROM rule_changes") as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def _record(
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


async def _import_framing(
    conn: aiosqlite.Connection,
    framing: PackFraming,
    version: int,
    actor: int | None,
    via: str,
    now: datetime,
    max_terms: int,
) -> FramingImport:
    framing_id, created, title_changed, description_changed = await _upsert_framing(
        conn, framing, actor, now
    )
    async with conn.execute(
        "SELECT key, text FROM terms WHERE framing_id = ? ORDER BY id", (framing_id,)
    ) as cur:
        existing = {str(r[0]): str(r[1]) for r in await cur.fetchall()}
    added: list[str] = []
    for text, key in framing.terms:
        if key not in existing and await _insert_term(
            conn, framing_id, text, key, version, actor, now
        ):
            await _record(conn, version, framing.slug, text, "added", actor, via, now)
            added.append(text)
    if len(existing) + len(added) > max_terms:
        raise TermLimitError(framing.slug, len(existing) + len(added), max_terms)
    pack_keys = {key for _, key in framing.terms}
    return FramingImport(
        slug=framing.slug,
        created=created,
        title_changed=title_changed,
        description_changed=description_changed,
        added=tuple(added),
        already=len(pack_keys & existing.keys()),
        kept=tuple(text for key, text in existing.items() if key not in pack_keys),
    )


async def _upsert_framing(
    conn: aiosqlite.Connection, framing: PackFraming, actor: int | None, now: datetime
) -> tuple[int, bool, bool, bool]:
    """(id, created, title changed, description changed)."""
    async with conn.execute(
        "SELECT id, title, description FROM framings WHERE slug = ?", (framing.slug,)
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        framing_id, _ = await _ensure_framing(
            conn,
            framing.slug,
            framing.title or framing.slug,
            framing.description or "",
            actor,
            now,
        )
        return framing_id, True, False, False
    title = row[1] if framing.title is None else framing.title
    description = row[2] if framing.description is None else framing.description
    if (title, description) != (row[1], row[2]):
        await conn.execute(
            "UPDATE framings SET title = ?, description = ? WHERE id = ?",
            (title, description, row[0]),
        )
    return int(row[0]), False, title != row[1], description != row[2]


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
