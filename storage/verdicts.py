"""Moderators' verdicts on matches (migration 0015): the review cards, the decisions, and
what precision and suggestions read.

A verdict is kept per matched post and framing. 'wrong_framing' and 'debunk' reject the
match: every query that counts or lists matches reads the view `counted_matches`, or
trend_posts, kept to counted matches by the migration's triggers (and, for new matches, by
storage/trend_store.py); both derive from the one view `rejected_matches`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Literal, get_args

from storage import audit
from storage.backend import Backend, Row
from storage.dialect import Dialect, indexed_by
from storage.timeutil import from_iso, iso

Verdict = Literal["correct", "wrong_framing", "debunk"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)


@dataclass(frozen=True, slots=True)
class Cursor:
    """A card's place in the review order (newest post first): the next card is older."""

    posted_at: int
    chat_id: int
    post_id: int
    framing_id: int


@dataclass(frozen=True, slots=True)
class ReviewCard:
    """One matched post and framing as a review card shows it."""

    post_id: int
    framing_id: int
    framing_slug: str
    framing_title: str
    term_id: int
    term: str
    chat_id: int
    channel_username: str | None
    channel_title: str
    message_id: int
    posted_at: int  # Unix seconds
    text: str
    start: int
    end: int
    verdict: Verdict | None
    decided_by: int | None
    decided_at: datetime | None

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.posted_at, self.chat_id, self.post_id, self.framing_id)


Outcome = Literal["stored", "unchanged", "conflict", "gone"]


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome  # conflict: the verdict was not what the card showed; gone: no match
    verdict: Verdict | None  # the verdict now stored
    decided_by: int | None


@dataclass(frozen=True, slots=True)
class TermReview:
    """A term's matches and the verdicts on the posts it matched."""

    term_id: int
    text: str
    hits: int
    correct: int
    wrong_framing: int
    debunk: int

    @property
    def reviewed(self) -> int:
        return self.correct + self.wrong_framing + self.debunk


@dataclass(frozen=True, slots=True)
class LabelledPost:
    """A stored post as /suggest reads it: its verdict for the framing (None: unreviewed)
    and whether the framing matches it."""

    post_id: int
    text: str
    chat_id: int
    channel_username: str | None
    message_id: int
    verdict: Verdict | None
    matched: bool


_UNREVIEWED = (
    "NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.post_id = t.post_id"
    " AND v.framing_id = t.framing_id)"
)
_CARD = (
    "SELECT m.post_id, m.framing_id, f.slug, f.title, m.term_id, t.text, p.chat_id,"
    " c.username, c.title, p.message_id, p.posted_at, p.text, m.start_pos, m.end_pos,"
    " v.verdict, v.user_id, v.decided_at"
    " FROM matches m JOIN posts p ON p.id = m.post_id JOIN channels c ON c.chat_id = p.chat_id"
    " JOIN framings f ON f.id = m.framing_id JOIN terms t ON t.id = m.term_id"
    " LEFT JOIN verdicts v ON v.post_id = m.post_id AND v.framing_id = m.framing_id"
    " WHERE m.post_id = ? AND m.framing_id = ? ORDER BY m.start_pos, m.term_id LIMIT 1"
)
# The newest unreviewed match older than the cursor: skipped cards stay behind the
# moderator until the next /review starts from the top again. Read through trend_posts (one
# row per post and framing with a counted match, migration 0015), whose indexes give this
# order, so the first unreviewed row ends the walk: microseconds at a million posts. The
# cursor's posted_at comes twice (NULL: from the top), then chat, post and framing id.
_NEXT_ANY = (
    "SELECT t.post_id, t.framing_id FROM posts p{posts_index}"  # noqa: S608
    " JOIN trend_posts t{trend_index} ON t.post_id = p.id"
    f" WHERE {_UNREVIEWED}"
    " AND (CAST(? AS BIGINT) IS NULL"
    "  OR (p.posted_at, p.chat_id, p.id, t.framing_id) < (?, ?, ?, ?))"
    " ORDER BY p.posted_at DESC, p.chat_id DESC, p.id DESC, t.framing_id DESC LIMIT 1"
)
_NEXT_ONE = (
    "SELECT t.post_id, t.framing_id FROM trend_posts t{trend_index}"  # noqa: S608
    f" WHERE t.framing_id = ? AND {_UNREVIEWED}"
    " AND (CAST(? AS BIGINT) IS NULL OR (t.posted_at, t.chat_id, t.post_id) < (?, ?, ?))"
    " ORDER BY t.posted_at DESC, t.chat_id DESC, t.post_id DESC LIMIT 1"
)


@cache
def _next_sql(dialect: Dialect, one_framing: bool) -> str:
    """_NEXT_ONE or _NEXT_ANY with SQLite's index hints (storage.dialect.indexed_by)."""
    if one_framing:
        return _NEXT_ONE.format(trend_index=indexed_by(dialect, "trend_posts_framing"))
    return _NEXT_ANY.format(
        posts_index=indexed_by(dialect, "posts_posted_chat"),
        trend_index=indexed_by(dialect, "trend_posts_post"),
    )


_TERM_REVIEWS = (
    "SELECT t.id, t.text, count(m.post_id), count(v.verdict),"
    " count(*) FILTER (WHERE v.verdict = 'correct'),"
    " count(*) FILTER (WHERE v.verdict = 'wrong_framing'),"
    " count(*) FILTER (WHERE v.verdict = 'debunk')"
    " FROM terms t JOIN framings f ON f.id = t.framing_id"
    " LEFT JOIN matches m ON m.term_id = t.id"
    " LEFT JOIN verdicts v ON v.post_id = m.post_id AND v.framing_id = m.framing_id"
    " WHERE f.slug = ? GROUP BY t.id ORDER BY t.id"
)
_UPSERT = (
    "INSERT INTO verdicts (post_id, framing_id, term_id, verdict, user_id, decided_at)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (post_id, framing_id) DO UPDATE SET"
    " term_id = excluded.term_id, verdict = excluded.verdict, user_id = excluded.user_id,"
    " decided_at = excluded.decided_at"
)
# Every post with a verdict for the framing, and the newest `limit` stored posts: one
# statement, each part read through an index. The framing id comes three times, then the limit.
_LABELLED = (
    "SELECT p.id, p.text, p.chat_id, c.username, p.message_id, v.verdict,"
    " EXISTS (SELECT 1 FROM matches m WHERE m.post_id = p.id AND m.framing_id = ?)"
    " FROM posts p JOIN channels c ON c.chat_id = p.chat_id"
    " LEFT JOIN verdicts v ON v.post_id = p.id AND v.framing_id = ?"
    " WHERE p.id IN (SELECT post_id FROM verdicts WHERE framing_id = ?"
    "   UNION SELECT id FROM (SELECT id FROM posts ORDER BY id DESC LIMIT ?) AS newest)"
)


class VerdictRepository:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def card(self, post_id: int, framing_id: int) -> ReviewCard | None:
        """The match of the framing in the post (its first term), or None if it has none."""
        row = await self._db.fetchone(_CARD, (post_id, framing_id))
        return _card(row) if row is not None else None

    async def next_card(self, framing_id: int | None, after: Cursor | None) -> ReviewCard | None:
        """The newest unreviewed match (of one framing), older than `after` if given."""
        at = (
            (after.posted_at, after.posted_at, after.chat_id, after.post_id, after.framing_id)
            if after
            else (None,) * 5
        )
        sql = _next_sql(self._db.dialect, framing_id is not None)
        params = at if framing_id is None else (framing_id, *at[:4])
        found = await self._db.fetchone(sql, params)
        if found is None:
            return None
        return await self.card(found[0], found[1])

    async def cards_of_post(self, post_id: int) -> list[ReviewCard]:
        """One card per framing matching the post, by framing slug."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT m.framing_id, f.slug FROM matches m"
            " JOIN framings f ON f.id = m.framing_id WHERE m.post_id = ? ORDER BY f.slug",
            (post_id,),
        )
        cards = [await self.card(post_id, r[0]) for r in rows]
        return [c for c in cards if c is not None]

    async def decide(
        self,
        post_id: int,
        framing_id: int,
        verdict: Verdict | None,
        expected: Verdict | None,
        user_id: int,
        now: datetime,
    ) -> Decision:
        """Store `verdict` (None: take the verdict back) if the stored one is `expected`,
        the one the moderator's card showed; audited. Nothing changes otherwise."""

        async with self._db.atomic() as conn:
            match = await conn.fetchone(_CARD, (post_id, framing_id))
            if match is None:
                return Decision("gone", None, None)
            current, by = match[14], match[15]
            if current != expected:
                return Decision("conflict", current, by)
            if current == verdict:
                return Decision("unchanged", current, by)
            if verdict is None:
                await conn.execute(
                    "DELETE FROM verdicts WHERE post_id = ? AND framing_id = ?",
                    (post_id, framing_id),
                )
            else:
                await conn.execute(
                    _UPSERT, (post_id, framing_id, match[4], verdict, user_id, iso(now))
                )
            change = f"{current or 'unreviewed'} -> {verdict or 'unreviewed'}"
            await audit.record(conn, user_id, "review", f"{match[2]} post {post_id}: {change}", now)
        return Decision("stored", verdict, user_id)

    async def term_reviews(self, slug: str) -> list[TermReview]:
        """Each term of the framing: its matches and the verdicts on the posts it matched."""
        rows = await self._db.fetchall(_TERM_REVIEWS, (slug,))
        return [TermReview(r[0], r[1], r[2], r[4], r[5], r[6]) for r in rows]

    async def labelled_posts(self, framing_id: int, newest: int) -> list[LabelledPost]:
        """Posts with a verdict for the framing and the newest `newest` stored posts."""
        rows = await self._db.fetchall(_LABELLED, (framing_id, framing_id, framing_id, newest))
        return [LabelledPost(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows]

    async def post_id(self, chat_id: int, message_id: int) -> int | None:
        value = await self._db.fetchval(
            "SELECT id FROM posts WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        )
        return None if value is None else int(value)

    async def framing_slug(self, framing_id: int) -> str | None:
        value = await self._db.fetchval("SELECT slug FROM framings WHERE id = ?", (framing_id,))
        return None if value is None else str(value)

    async def framing_id(self, slug: str) -> int | None:
        value = await self._db.fetchval("SELECT id FROM framings WHERE slug = ?", (slug,))
        return None if value is None else int(value)


def _card(r: Row) -> ReviewCard:
    return ReviewCard(
        post_id=r[0],
        framing_id=r[1],
        framing_slug=r[2],
        framing_title=r[3],
        term_id=r[4],
        term=r[5],
        chat_id=r[6],
        channel_username=r[7],
        channel_title=r[8],
        message_id=r[9],
        posted_at=r[10],
        text=r[11],
        start=r[12],
        end=r[13],
        verdict=r[14],
        decided_by=r[15],
        decided_at=from_iso(r[16]) if r[16] else None,
    )
