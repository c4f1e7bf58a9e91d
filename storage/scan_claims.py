"""Scan work claimed by one process among several on one database (issue 12, migration 0019).

A batch of posts waiting for a scan, or the terms a rescan applies, are claimed by writing
the claimant's name and lease end into their rows: the claim's SELECT skips rows another
process is claiming (dialect.skip_locked) and rows under a lease that has not lapsed. The
results are stored only where the claim is still the claimant's, and only if the rules
version is still the one the matcher was compiled at: else nothing is stored, the claims are
let go, and the next claimant does the batch again with the new rules. Why the version: a
rescan of a new term passes over posts still waiting for a scan (they get every term at
their scan); a batch matched before the term existed and stored after the rescan passed it
would never get the term. Write transactions exclude rule changes (storage/pg/database.py),
so a store sees either the old version and commits before the change, or the new one.

Each claim and each store is one transaction of one statement per kind of row, whatever the
batch's size. Times are passed in (the caller's clock), never read here.

The scan batches' transactions are shared ones (Backend.atomic(shared=True)): on PostgreSQL
several processes claim and store side by side. Two of them never write the same row: a
claim skips what another is claiming; a store writes only the post_scan rows its holder
still holds (checked under the row's lock), the matches of those posts and their
trend_posts rows (storage/trend_store.py), all keyed by post. Rule changes, edits and every
other write still run alone, so the rules version a store checks is the one it commits
under. Rescans stay ordinary transactions: two rescans of terms of one framing may add the
same (framing, post) row to trend_posts, and must not do so side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.backend import Backend, Tx
from storage.match_store import fresh_matches, insert_fresh, insert_many
from storage.matches import PendingTerm
from storage.models import MatchRow, PostToScan
from storage.timeutil import iso

_RULES_VERSION = "SELECT coalesce(max(version), 0) FROM rule_changes"
_LAPSED = "(claimed_until IS NULL OR claimed_until < ?)"


class ScanClaims:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def claim_posts(
        self, holder: str, now: datetime, until: datetime, limit: int
    ) -> list[int]:
        """Claim up to `limit` posts waiting for a scan, lowest ids first, until `until`;
        returns their ids (empty: nothing left that nobody holds)."""
        free = f"SELECT 1 FROM post_scan WHERE needs_scan = 1 AND {_LAPSED} LIMIT 1"  # noqa: S608
        if await self._db.fetchone(free, (iso(now),)) is None:
            return []  # an idle process takes no write transaction
        async with self._db.atomic(shared=True) as tx:
            rows = await tx.fetchall(
                "UPDATE post_scan SET claimed_by = ?, claimed_until = ? WHERE post_id IN ("  # noqa: S608 (the dialect's clause)
                f"SELECT post_id FROM post_scan WHERE needs_scan = 1 AND {_LAPSED}"
                f" ORDER BY post_id LIMIT ?{tx.dialect.skip_locked}) RETURNING post_id",
                (holder, iso(until), iso(now), limit),
            )
        return sorted(r[0] for r in rows)

    async def claimed_posts(self, ids: Sequence[int], holder: str) -> list[PostToScan]:
        """The texts of claimed posts, with their generation read in the same statement (so
        the text and the generation belong together), in id order."""
        listed, params = self._db.dialect.int_list(ids)
        rows = await self._db.fetch_tuples(
            "SELECT p.id, p.text, s.generation FROM post_scan s"  # noqa: S608
            f" JOIN posts p ON p.id = s.post_id WHERE s.post_id IN {listed}"
            " AND s.claimed_by = ? AND s.needs_scan = 1 ORDER BY s.post_id",
            [*params, holder],
        )
        return [PostToScan(*row) for row in rows]

    async def store_scanned(
        self,
        claimed: Sequence[int],
        posts: Sequence[PostToScan],
        found: Sequence[MatchRow],
        now: datetime,
        rules_version: int,
        holder: str,
    ) -> list[MatchRow] | None:
        """Mark the claimed posts scanned and store their matches; returns the new ones.

        None (nothing stored, the claims let go) if the rules changed since rules_version.
        A post is marked only if this holder still holds it and its text was not edited
        since it was read; the claim of every post in `claimed` ends here either way.
        """
        read = {p.post_id: p.generation for p in posts}
        async with self._db.atomic(shared=True) as tx:
            if await tx.fetchval(_RULES_VERSION) != rules_version:
                await _release(tx, "post_scan", "post_id", claimed, holder)
                return None
            # A claimed post not read (deleted meanwhile) gets generation -1: released only.
            rows, params = tx.dialect.int_rows(
                "b", ["id", "generation"], [(i, read.get(i, -1)) for i in claimed]
            )
            same = "post_scan.generation = b.generation"
            marked = await tx.fetchall(
                f"UPDATE post_scan SET needs_scan = CASE WHEN {same} THEN 0 ELSE needs_scan END,"  # noqa: S608
                f" scanned_version = CASE WHEN {same} THEN ? ELSE scanned_version END,"
                f" claimed_by = NULL, claimed_until = NULL FROM {rows}"
                " WHERE post_scan.post_id = b.id AND post_scan.claimed_by = ?"
                " RETURNING post_scan.post_id, post_scan.generation",
                [rules_version, *params, holder],
            )
            # Kept: the posts this statement marked, those read at their current generation.
            # Not every post whose needs_scan is 0 now: another writer (the plain scan, on
            # SQLite) may have marked and matched a claimed post before this holder read it
            # (then it read nothing); its matches must not be replaced by none.
            kept = {r[0] for r in marked if read.get(r[0]) == r[1]}
            new = await fresh_matches(tx, kept, found, rules_version)
            await insert_fresh(tx, new, now)
            return new

    async def claim_rescan(
        self, holder: str, now: datetime, until: datetime, rules_version: int
    ) -> list[PendingTerm]:
        """Claim every unfinished rescan of terms up to rules_version that nobody holds."""
        free = f"SELECT 1 FROM terms WHERE backfilled = 0 AND version <= ? AND {_LAPSED} LIMIT 1"  # noqa: S608
        if await self._db.fetchone(free, (rules_version, iso(now))) is None:
            return []  # the usual case: no write transaction (these take the lock alone)
        async with self._db.atomic() as tx:
            rows = await tx.fetchall(
                "UPDATE terms SET claimed_by = ?, claimed_until = ? WHERE id IN ("  # noqa: S608
                f"SELECT id FROM terms WHERE backfilled = 0 AND version <= ? AND {_LAPSED}"
                f" ORDER BY id{tx.dialect.skip_locked})"
                " RETURNING id, version, rescanned_through",
                (holder, iso(until), rules_version, iso(now)),
            )
        return sorted((PendingTerm(r[0], r[1], r[2]) for r in rows), key=lambda t: t.term_id)

    async def store_rescan(
        self,
        found: Sequence[MatchRow],
        term_ids: Sequence[int],
        through: int,
        done: bool,
        now: datetime,
        rules_version: int,
        holder: str,
    ) -> list[MatchRow] | None:
        """A rescan batch of claimed terms: their matches stored and their cursor moved to
        `through` (done: every stored post covered), for the terms this holder still holds;
        the claims end here. None (nothing stored) if the rules changed since rules_version."""
        async with self._db.atomic() as tx:
            if await tx.fetchval(_RULES_VERSION) != rules_version:
                await _release(tx, "terms", "id", term_ids, holder)
                return None
            listed, params = tx.dialect.int_list(term_ids)
            held = await tx.fetchall(
                "UPDATE terms SET backfilled = ?, rescanned_through = CASE"  # noqa: S608
                " WHEN rescanned_through > ? THEN rescanned_through ELSE ? END,"
                " claimed_by = NULL, claimed_until = NULL"
                f" WHERE id IN {listed} AND claimed_by = ? AND backfilled = 0 RETURNING id",
                [int(done), through, through, *params, holder],
            )
            ours = {r[0] for r in held}
            return await insert_many(
                tx, [m for m in found if m.term_id in ours], now, rules_version
            )

    async def release_rescan(self, term_ids: Sequence[int], holder: str) -> None:
        """Let claimed terms go without storing anything (a batch that failed)."""
        async with self._db.atomic() as tx:
            await _release(tx, "terms", "id", term_ids, holder)

    async def release_posts(self, ids: Sequence[int], holder: str) -> None:
        async with self._db.atomic(shared=True) as tx:
            await _release(tx, "post_scan", "post_id", ids, holder)


async def _release(tx: Tx, table: str, key: str, ids: Sequence[int], holder: str) -> None:
    listed, params = tx.dialect.int_list(ids)
    await tx.execute(
        f"UPDATE {table} SET claimed_by = NULL, claimed_until = NULL"  # noqa: S608 (constants)
        f" WHERE {key} IN {listed} AND claimed_by = ?",
        [*params, holder],
    )
