"""Framing packs in storage: import every framing of a pack in one transaction (new
framings created, titles and descriptions updated, new terms added, unlisted terms kept),
and export every framing with its terms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage import audit
from storage import rule_changes as changes
from storage.backend import Backend, Tx
from storage.rule_changes import TermLimitError


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


async def import_pack(
    db: Backend,
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
    async with db.atomic() as conn:
        version = await changes.next_version(conn)
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


async def export_pack(db: Backend) -> list[PackFraming]:
    """Every framing with its terms in the order they were added, by slug."""
    framings = await db.fetchall("SELECT id, slug, title, description FROM framings ORDER BY slug")
    terms = await db.fetchall("SELECT framing_id, text, key FROM terms ORDER BY id")
    by_framing: dict[int, list[tuple[str, str]]] = {}
    for t in terms:
        by_framing.setdefault(t[0], []).append((t[1], t[2]))
    return [
        PackFraming(r["slug"], r["title"], r["description"], tuple(by_framing.get(r["id"], ())))
        for r in framings
    ]


async def _import_framing(
    conn: Tx,
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
    existing = {
        str(r[0]): str(r[1])
        for r in await conn.fetchall(
            "SELECT key, text FROM terms WHERE framing_id = ? ORDER BY id", (framing_id,)
        )
    }
    # The first of each key the framing lacks: what inserting them one by one keeps (the
    # write transaction is the only writer, so nothing else can take a key meanwhile).
    new: dict[str, str] = {}
    for text, key in framing.terms:
        if key not in existing:
            new.setdefault(key, text)
    added = list(new.values())
    await changes.insert_terms(conn, framing_id, list(new.items()), version, actor, now)
    await changes.record_many(conn, version, framing.slug, added, "added", actor, via, now)
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
    conn: Tx, framing: PackFraming, actor: int | None, now: datetime
) -> tuple[int, bool, bool, bool]:
    """(id, created, title changed, description changed)."""
    row = await conn.fetchone(
        "SELECT id, title, description FROM framings WHERE slug = ?", (framing.slug,)
    )
    if row is None:
        framing_id, _ = await changes.ensure_framing(
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
