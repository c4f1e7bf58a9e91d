"""Framings and their terms, with the versioned history of every term change.

Each change is audited, and recorded in rule_changes under a new rules version, in the
transaction that makes it: the scan compiles its matcher once per rules version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage import audit, packs
from storage import rule_changes as changes
from storage.backend import Backend
from storage.models import FramingStats, RuleChange, TermRow
from storage.packs import PackFraming, PackImport
from storage.rule_changes import TermLimitError
from storage.timeutil import from_iso

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


class FramingRepository:
    def __init__(self, db: Backend) -> None:
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
        async with self._db.atomic() as conn:
            framing_id, created = await changes.ensure_framing(conn, slug, slug, "", actor, now)
            count = await changes.term_count(conn, framing_id)
            if count >= max_terms:
                raise TermLimitError(slug, count + 1, max_terms)  # rolls back a new framing
            version = await changes.next_version(conn)
            if not await changes.insert_term(conn, framing_id, text, key, version, actor, now):
                return AddTermResult(created, False, None)
            await changes.record(conn, version, slug, text, "added", actor, via, now)
            await audit.record(conn, actor, "watch", f"{slug}: {text}", now)
        return AddTermResult(created, True, version)

    async def remove_term(
        self, slug: str, key: str, actor: int | None, now: datetime, via: str = "/unwatch"
    ) -> RemovedTerm | None:
        """Delete one term (and its matches); returns what was removed, or None."""
        async with self._db.atomic() as conn:
            row = await conn.fetchone(
                "SELECT t.id, t.text FROM terms t JOIN framings f ON f.id = t.framing_id"
                " WHERE f.slug = ? AND t.key = ?",
                (slug, key),
            )
            if row is None:
                return None
            await conn.execute("DELETE FROM terms WHERE id = ?", (row[0],))
            version = await changes.next_version(conn)
            await changes.record(conn, version, slug, row[1], "removed", actor, via, now)
            await audit.record(conn, actor, "unwatch", f"{slug}: {row[1]}", now)
            return RemovedTerm(str(row[1]), version)

    async def remove_framing(
        self, slug: str, actor: int | None, now: datetime, via: str = "/unwatch"
    ) -> RemovedFraming | None:
        """Delete a framing with its terms and matches; returns what was removed, or None."""
        async with self._db.atomic() as conn:
            row = await conn.fetchone("SELECT id FROM framings WHERE slug = ?", (slug,))
            if row is None:
                return None
            texts = [
                str(r[0])
                for r in await conn.fetchall(
                    "SELECT text FROM terms WHERE framing_id = ? ORDER BY id", (row[0],)
                )
            ]
            await conn.execute("DELETE FROM framings WHERE id = ?", (row[0],))
            version = await changes.next_version(conn)
            await changes.record_many(conn, version, slug, texts, "removed", actor, via, now)
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
        """storage.packs.import_pack: every framing of a pack, in one transaction."""
        return await packs.import_pack(self._db, pack, actor, now, via, max_terms)

    async def export_pack(self) -> list[PackFraming]:
        return await packs.export_pack(self._db)

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
