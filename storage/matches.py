"""Matches of terms in posts: what the scan job reads and writes, and what digests read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Database
from storage.models import DigestItem, FlaggedPost, MatchRow, PostToScan
from storage.timeutil import from_unix, iso, unix

# A match is stored only if its term still exists and is no newer than the matcher that
# found it (a term id freed by a removal can be reused by a new term), and its post has not
# been edited since it was read (an edit deletes the matches and marks the post for a scan).
_INSERT_MATCH = (
    "INSERT OR IGNORE INTO matches (post_id, term_id, framing_id, start_pos, end_pos, matched_at)"
    " SELECT ?, ?, ?, ?, ?, ?"
    " WHERE EXISTS (SELECT 1 FROM terms WHERE id = ? AND version <= ?)"
    " AND EXISTS (SELECT 1 FROM posts WHERE id = ? AND needs_scan = 0)"
)
_ANY_VERSION = 1 << 62


@dataclass(frozen=True, slots=True)
class PendingTerm:
    """A term not yet applied to every stored post: posts up to rescanned_through are done."""

    term_id: int
    version: int
    rescanned_through: int


@dataclass(frozen=True, slots=True)
class RescanProgress:
    covered: int  # stored posts the framing's newest terms have been applied to
    stored: int


class MatchRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def db(self) -> Database:
        return self._db

    async def posts_needing_scan(self, limit: int) -> list[PostToScan]:
        rows = await self._db.fetchall(
            "SELECT id, text FROM posts WHERE needs_scan = 1 ORDER BY id LIMIT ?", (limit,)
        )
        return [PostToScan(r[0], r[1]) for r in rows]

    async def posts_after(
        self, after_id: int, limit: int, scanned_below: int = _ANY_VERSION
    ) -> list[PostToScan]:
        """Scanned posts after after_id whose last scan was at a rules version below
        scanned_below: the ones a rescan of terms up to that version has to visit."""
        rows = await self._db.fetchall(
            # Posts still waiting for their first scan get every term then: skip them here
            # so one match is not found (and reported) twice.
            "SELECT id, text FROM posts WHERE id > ? AND needs_scan = 0 AND scanned_version < ?"
            " ORDER BY id LIMIT ?",
            (after_id, scanned_below, limit),
        )
        return [PostToScan(r[0], r[1]) for r in rows]

    async def replace_for_posts(
        self,
        scanned: Sequence[PostToScan],
        found: Sequence[MatchRow],
        now: datetime,
        rules_version: int | None = None,
    ) -> list[MatchRow]:
        """Store the full set of matches of freshly scanned posts; returns the new ones.

        A post whose text changed since it was read (an edit arrived meanwhile) is left
        as it is, still marked for scanning, so its old text never produces matches.
        rules_version: the version of the matcher that found them (None: unknown).
        """
        guard = _ANY_VERSION if rules_version is None else rules_version
        new: list[MatchRow] = []
        async with self._db.transaction() as conn:
            for post in scanned:
                cur = await conn.execute(
                    "UPDATE posts SET needs_scan = 0, scanned_version = ?"
                    " WHERE id = ? AND text = ?",
                    (rules_version or 0, post.post_id, post.text),
                )
                if cur.rowcount != 1:
                    continue
                await conn.execute("DELETE FROM matches WHERE post_id = ?", (post.post_id,))
                for m in (m for m in found if m.post_id == post.post_id):
                    if await _insert(conn, m, now, guard):
                        new.append(m)
        return new

    async def pending_terms(self) -> list[PendingTerm]:
        """Terms whose background rescan over the stored posts is not finished."""
        rows = await self._db.fetchall(
            "SELECT id, version, rescanned_through FROM terms WHERE backfilled = 0 ORDER BY id"
        )
        return [PendingTerm(r[0], r[1], r[2]) for r in rows]

    async def add_rescan_batch(
        self,
        found: Sequence[MatchRow],
        term_ids: Sequence[int],
        through: int,
        done: bool,
        now: datetime,
        rules_version: int,
    ) -> list[MatchRow]:
        """Store a rescan batch's matches and move its terms' cursor, in one transaction.

        term_ids have now been applied to every post up to `through`; with done=True, to
        every stored post. Returns the matches that are new.
        """
        new: list[MatchRow] = []
        async with self._db.transaction() as conn:
            for m in found:
                if await _insert(conn, m, now, rules_version):
                    new.append(m)
            await conn.executemany(
                "UPDATE terms SET rescanned_through = max(rescanned_through, ?), backfilled = ?"
                " WHERE id = ? AND version <= ? AND backfilled = 0",
                [(through, int(done), t, rules_version) for t in term_ids],
            )
        return new

    async def rescan_progress(self) -> dict[int, RescanProgress]:
        """framing id -> progress, for each framing with terms still being rescanned."""
        rows = await self._db.fetchall(
            "SELECT framing_id, min(rescanned_through) FROM terms WHERE backfilled = 0"
            " GROUP BY framing_id"
        )
        stored = int(await self._db.fetchval("SELECT count(*) FROM posts")) if rows else 0
        if not stored:  # nothing to rescan: the next scan marks the terms done
            return {}
        progress = {}
        for framing_id, through in rows:
            covered = await self._db.fetchval(
                "SELECT count(*) FROM posts WHERE id <= ?", (through,)
            )
            progress[int(framing_id)] = RescanProgress(int(covered), stored)
        return progress

    async def describe(self, rows: Sequence[MatchRow]) -> list[FlaggedPost]:
        """What `framewatch scan` prints about new matches."""
        described = []
        for m in rows:
            r = await self._db.fetchone(
                "SELECT f.slug, t.text AS term, p.chat_id, c.username, p.message_id, p.text"
                " FROM posts p JOIN channels c ON c.chat_id = p.chat_id,"
                " terms t JOIN framings f ON f.id = t.framing_id"
                " WHERE p.id = ? AND t.id = ?",
                (m.post_id, m.term_id),
            )
            if r is not None:
                described.append(
                    FlaggedPost(
                        r["slug"],
                        r["term"],
                        r["chat_id"],
                        r["username"],
                        r["message_id"],
                        r["text"][m.start : m.end],
                    )
                )
        return described

    async def digest_items(self, start: datetime, end: datetime) -> list[DigestItem]:
        """Every match in posts dated in [start, end), with what the digest shows; only
        approved channels' posts (watched_channels, migration 0006)."""
        rows = await self._db.fetchall(
            "SELECT f.slug, f.title AS ftitle, p.chat_id, c.username, c.title AS ctitle,"
            " p.message_id, p.posted_at, p.text, m.start_pos, m.end_pos, t.text AS term,"
            " c.watchdog"
            " FROM matches m JOIN posts p ON p.id = m.post_id"
            " JOIN watched_channels c ON c.chat_id = p.chat_id"
            " JOIN framings f ON f.id = m.framing_id JOIN terms t ON t.id = m.term_id"
            " WHERE p.posted_at >= ? AND p.posted_at < ? ORDER BY p.posted_at DESC, m.start_pos",
            (unix(start), unix(end)),
        )
        return [
            DigestItem(
                framing_slug=r["slug"],
                framing_title=r["ftitle"],
                chat_id=r["chat_id"],
                channel_username=r["username"],
                channel_title=r["ctitle"],
                message_id=r["message_id"],
                posted_at=from_unix(r["posted_at"]),
                text=r["text"],
                match_start=r["start_pos"],
                match_end=r["end_pos"],
                term=r["term"],
                watchdog=bool(r["watchdog"]),
            )
            for r in rows
        ]

    async def match_times(self, start: datetime, end: datetime) -> list[tuple[str, datetime]]:
        """(framing slug, post date) of every matched post in [start, end), watchdog channels'
        posts left out (and unapproved ones): for recurrence, which counts channels spreading
        a framing."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT f.slug, p.posted_at FROM matches m"
            " JOIN posts p ON p.id = m.post_id JOIN framings f ON f.id = m.framing_id"
            " JOIN watched_channels c ON c.chat_id = p.chat_id"
            " WHERE p.posted_at >= ? AND p.posted_at < ? AND c.watchdog = 0",
            (unix(start), unix(end)),
        )
        return [(r[0], from_unix(r[1])) for r in rows]

    async def count(self) -> int:
        return int(await self._db.fetchval("SELECT count(*) FROM matches"))


async def _insert(
    conn: aiosqlite.Connection, m: MatchRow, now: datetime, rules_version: int
) -> bool:
    cur = await conn.execute(
        _INSERT_MATCH,
        (
            m.post_id,
            m.term_id,
            m.framing_id,
            m.start,
            m.end,
            iso(now),
            m.term_id,
            rules_version,
            m.post_id,
        ),
    )
    return cur.rowcount == 1
