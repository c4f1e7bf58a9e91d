"""Matches of terms in posts: what the scan job reads and writes, and what digests read."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.backend import Backend
from storage.db import Database
from storage.match_store import fresh_matches, insert_fresh, insert_many
from storage.models import DigestItem, FlaggedPost, MatchRow, PostToScan, Scanned
from storage.timeutil import from_unix, unix

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
    def __init__(self, db: Backend) -> None:
        self._db = db

    @property
    def db(self) -> Backend:
        return self._db

    @property
    def sqlite_file(self) -> str | None:
        """The SQLite file worker processes may open (storage.db.open_reader); None on
        PostgreSQL, where the scan runs in this process."""
        return self._db.path if isinstance(self._db, Database) else None

    async def posts_needing_scan(self, limit: int, after_id: int = 0) -> list[PostToScan]:
        """Posts stored or edited since their last scan, in id order from after_id (a scan
        pass moves this cursor, so it can read the next batch before the last is written)."""
        rows = await self._db.fetch_tuples(
            "SELECT p.id, p.text, s.generation FROM post_scan s"
            " JOIN posts p ON p.id = s.post_id"
            " WHERE s.needs_scan = 1 AND s.post_id > ? ORDER BY s.post_id LIMIT ?",
            (after_id, limit),
        )
        return [PostToScan(*row) for row in rows]

    async def queued_ids(self, limit: int, after_id: int = 0) -> list[int]:
        """The ids of the next `limit` posts waiting for a scan after after_id (no texts:
        worker processes read those themselves, read_queued_between)."""
        rows = await self._db.fetchall(
            "SELECT post_id FROM post_scan WHERE needs_scan = 1 AND post_id > ?"
            " ORDER BY post_id LIMIT ?",
            (after_id, limit),
        )
        return [r[0] for r in rows]

    async def scan_backlog(self) -> int:
        """How many posts wait for a scan (a progress bar's total)."""
        return int(await self._db.fetchval("SELECT count(*) FROM post_scan WHERE needs_scan = 1"))

    async def posts_after(
        self, after_id: int, limit: int, scanned_below: int = _ANY_VERSION
    ) -> list[PostToScan]:
        """Scanned posts after after_id whose last scan was at a rules version below
        scanned_below: the ones a rescan of terms up to that version has to visit."""
        rows = await self._db.fetch_tuples(
            # Posts still waiting for their first scan get every term then: skip them
            # here so one match is not found (and reported) twice.
            "SELECT p.id, p.text, s.generation FROM post_scan s"
            " JOIN posts p ON p.id = s.post_id"
            " WHERE s.post_id > ? AND s.needs_scan = 0 AND s.scanned_version < ?"
            " ORDER BY s.post_id LIMIT ?",
            (after_id, scanned_below, limit),
        )
        return [PostToScan(*row) for row in rows]

    async def replace_for_posts(
        self,
        scanned: Sequence[Scanned],
        found: Sequence[MatchRow],
        now: datetime,
        rules_version: int | None = None,
    ) -> list[MatchRow]:
        """Store the full set of matches of freshly scanned posts; returns the new ones.

        A post whose text changed since it was read (an edit arrived meanwhile) is left
        as it is, still marked for scanning, so its old text never produces matches.
        rules_version: the version of the matcher that found them (None: unknown).
        Five statements for the whole batch, in one transaction.
        """
        guard = _ANY_VERSION if rules_version is None else rules_version
        async with self._db.atomic() as tx:
            # Only the narrow post_scan row is written (migration 0012), and only if no edit
            # raised its generation since the post was read (0017): one statement a batch.
            read, params = tx.dialect.int_rows(
                "b", ["id", "generation"], [(p.post_id, p.generation) for p in scanned]
            )
            kept = {
                row[0]
                for row in await tx.fetchall(
                    "UPDATE post_scan SET needs_scan = 0, scanned_version = ?"  # noqa: S608
                    f" FROM {read}"
                    " WHERE post_scan.post_id = b.id AND post_scan.generation = b.generation"
                    " RETURNING post_scan.post_id",
                    [rules_version or 0, *params],
                )
            }
            new = await fresh_matches(tx, kept, found, guard)
            await insert_fresh(tx, new, now)
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
        """Store a rescan batch's matches and move its terms' cursor, in one transaction
        and two statements.

        term_ids have now been applied to every post up to `through`; with done=True, to
        every stored post. Returns the matches that are new.
        """
        async with self._db.atomic() as tx:
            new = await insert_many(tx, found, now, rules_version)
            await tx.executemany(
                "UPDATE terms SET backfilled = ?, rescanned_through = CASE"
                " WHEN rescanned_through > ? THEN rescanned_through ELSE ? END"
                " WHERE id = ? AND version <= ? AND backfilled = 0",
                [(int(done), through, through, t, rules_version) for t in term_ids],
            )
            return new

    async def rescan_progress(self) -> dict[int, RescanProgress]:
        """framing id -> progress, for each framing with terms still being rescanned."""
        return await _rescan_progress(self._db)

    async def describe(self, rows: Sequence[MatchRow]) -> list[FlaggedPost]:
        """What `framewatch scan --verbose` prints about matches, in the order given (rows
        whose post or term is gone are left out); one query for all of them."""
        if not rows:
            return []
        keys, params = self._db.dialect.int_rows(
            "j",
            ["post_id", "term_id", "start_pos", "end_pos"],
            [(m.post_id, m.term_id, m.start, m.end) for m in rows],
        )
        found = await self._db.fetchall(
            # substr counts characters, as Python offsets do: only the matched text travels.
            "SELECT f.slug, t.text, p.chat_id, c.username, p.message_id,"  # noqa: S608
            " substr(p.text, CAST(j.start_pos AS INTEGER) + 1,"
            " CAST(j.end_pos - j.start_pos AS INTEGER))"
            f" FROM {keys} JOIN posts p ON p.id = j.post_id"
            " JOIN channels c ON c.chat_id = p.chat_id"
            " JOIN terms t ON t.id = j.term_id JOIN framings f ON f.id = t.framing_id"
            " ORDER BY j.n",
            params,
        )
        return [FlaggedPost(r[0], r[1], r[2], r[3], r[4], r[5]) for r in found]

    async def digest_items(self, start: datetime, end: datetime) -> list[DigestItem]:
        """Every match in posts dated in [start, end), with what the digest shows; only
        approved channels' posts (watched_channels, migration 0006), none a moderator
        rejected (counted_matches, migration 0015)."""
        rows = await self._db.fetchall(
            "SELECT f.slug, f.title AS ftitle, p.chat_id, c.username, c.title AS ctitle,"
            " p.message_id, p.posted_at, p.text, m.start_pos, m.end_pos, t.text AS term,"
            " c.watchdog"
            " FROM counted_matches m JOIN posts p ON p.id = m.post_id"
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
            "SELECT DISTINCT f.slug, p.posted_at FROM counted_matches m"
            " JOIN posts p ON p.id = m.post_id JOIN framings f ON f.id = m.framing_id"
            " JOIN watched_channels c ON c.chat_id = p.chat_id"
            " WHERE p.posted_at >= ? AND p.posted_at < ? AND c.watchdog = 0",
            (unix(start), unix(end)),
        )
        return [(r[0], from_unix(r[1])) for r in rows]

    async def count(self) -> int:
        return int(await self._db.fetchval("SELECT count(*) FROM matches"))


async def _rescan_progress(db: Backend) -> dict[int, RescanProgress]:
    cursors = {
        r[0]: r[1]
        for r in await db.fetchall(
            "SELECT framing_id, min(rescanned_through) FROM terms WHERE backfilled = 0"
            " GROUP BY framing_id"
        )
    }
    if not cursors:
        return {}
    # Post ids only grow: the posts covered are those with an id up to the cursor. One pass
    # counts them for every cursor; with no WHERE clause SQLite reads a narrow covering
    # index instead of the whole table (a rowid range would read every post's text).
    through = sorted(set(cursors.values()))
    counts = ", ".join(["count(*) FILTER (WHERE id <= ?)"] * len(through))  # placeholders only
    query = f"SELECT count(*), {counts} FROM posts"  # noqa: S608
    row = await db.fetchone(query, through)
    assert row is not None  # an aggregate without GROUP BY has one row
    stored: int
    covered: list[int]
    stored, *covered = row
    if not stored:  # nothing to rescan: the next scan marks the terms done
        return {}
    by_cursor = dict(zip(through, covered, strict=True))
    return {
        int(framing): RescanProgress(int(by_cursor[cursor]), int(stored))
        for framing, cursor in cursors.items()
    }


def read_queued_between(conn: sqlite3.Connection, first: int, last: int) -> list[PostToScan]:
    """Posts waiting for a scan with ids in [first, last], on a plain connection (a worker
    process's, storage.db.open_reader)."""
    return _posts_to_scan(
        conn,
        "SELECT p.id, p.text, s.generation FROM post_scan s JOIN posts p ON p.id = s.post_id"
        " WHERE s.needs_scan = 1 AND s.post_id BETWEEN ? AND ? ORDER BY s.post_id",
        (first, last),
    )


def _posts_to_scan(conn: sqlite3.Connection, sql: str, params: tuple[int, ...]) -> list[PostToScan]:
    cursor = conn.execute(sql, params)
    cursor.row_factory = None  # plain tuples: no Row object per post
    return [PostToScan(*row) for row in cursor]
