"""The analysis repositories read and written directly, on SQLite and on PostgreSQL
(tests/backends.py): review cards and verdicts (storage/verdicts.py) and what a rejected
match takes out of trends and propagation (storage/trends.py, storage/propagation.py).
The whole-bot review flow is tests/test_reviews.py (through the Harness, on both too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.ingest import store_posts
from storage.backend import Backend
from storage.matches import MatchRepository
from storage.models import IncomingPost, MatchRow
from storage.posts import ChannelRepository, PostRepository
from storage.propagation import PropagationRepository
from storage.timeutil import unix
from storage.trends import TrendRepository
from storage.verdicts import Decision, TermReview, VerdictRepository

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
A, B, WATCHDOG = -1001, -1002, -1003
MODERATOR, OTHER = 501, 502
BIOLABS, SPIN = 1, 2
TERMS = {1: (BIOLABS, "biolab"), 2: (SPIN, "spin")}  # term id -> (framing id, text)


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Every test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


def post(chat_id: int, message_id: int, hours_ago: float, text: str, **extra: Any) -> IncomingPost:
    names = {A: "Alpha", B: None, WATCHDOG: "Watch"}
    return IncomingPost(
        chat_id,
        message_id,
        NOW - timedelta(hours=hours_ago),
        text,
        f"Channel {chat_id}",
        names[chat_id],
        **extra,
    )


async def seed(db: Backend) -> VerdictRepository:
    """Two framings of one term each; five posts, four matched, one in a watchdog channel."""
    async with db.atomic() as tx:
        await tx.executemany(
            "INSERT INTO framings (id, slug, title, created_at) VALUES (?, ?, ?, ?)",
            [(BIOLABS, "biolabs", "Biolabs", NOW.isoformat()), (SPIN, "spin", "Spin", "")],
        )
        await tx.executemany(
            "INSERT INTO terms (id, framing_id, text, key, created_at) VALUES (?, ?, ?, ?, ?)",
            [(term, f, text, text, NOW.isoformat()) for term, (f, text) in TERMS.items()],
        )
    posts = [
        post(A, 1, 3, "biolab spin"),
        post(B, 1, 2, "the biolab", forwarded_from_chat_id=A, forwarded_from_message_id=1),
        post(A, 2, 1, "spin again"),
        post(WATCHDOG, 1, 1, "biolab debunked"),
        post(B, 2, 0.5, "weather"),
    ]
    await store_posts(PostRepository(db), posts, NOW)
    await ChannelRepository(db).set_watchdog(WATCHDOG, True, None, NOW)
    matches = MatchRepository(db)
    todo = await matches.posts_needing_scan(100)
    found = [
        MatchRow(p.post_id, term, framing, p.text.index(text), p.text.index(text) + len(text))
        for p in todo
        for term, (framing, text) in TERMS.items()
        if text in p.text
    ]
    await matches.replace_for_posts(todo, found, NOW)
    return VerdictRepository(db)


async def ids(repo: VerdictRepository) -> dict[tuple[int, int], int]:
    """(chat, message) -> post id."""
    found = {}
    for key in [(A, 1), (B, 1), (A, 2), (WATCHDOG, 1), (B, 2)]:
        post_id = await repo.post_id(*key)
        assert post_id is not None
        found[key] = post_id
    return found


async def walk(repo: VerdictRepository, framing_id: int | None) -> list[tuple[int, int, int]]:
    """(chat, message, framing) of every unreviewed card, newest first, by cursor."""
    seen = []
    card = await repo.next_card(framing_id, None)
    while card is not None:
        seen.append((card.chat_id, card.message_id, card.framing_id))
        card = await repo.next_card(framing_id, card.cursor)
    return seen


async def test_cards_come_newest_first_and_a_verdict_takes_a_card_out(db: Backend) -> None:
    repo = await seed(db)
    post_ids = await ids(repo)
    # Same time: the higher chat id first; one post's framings by framing id, descending.
    assert await walk(repo, None) == [
        (A, 2, SPIN),
        (WATCHDOG, 1, BIOLABS),
        (B, 1, BIOLABS),
        (A, 1, SPIN),
        (A, 1, BIOLABS),
    ]
    assert await walk(repo, BIOLABS) == [(WATCHDOG, 1, BIOLABS), (B, 1, BIOLABS), (A, 1, BIOLABS)]
    first = post_ids[(A, 1)]
    card = await repo.card(first, BIOLABS)
    assert card is not None
    assert (card.framing_slug, card.term, card.text[card.start : card.end]) == (
        "biolabs", "biolab", "biolab",
    )  # fmt: skip
    assert (card.channel_username, card.posted_at, card.verdict) == (
        "Alpha",
        unix(NOW) - 3 * 3600,
        None,
    )
    assert await repo.card(post_ids[(B, 2)], BIOLABS) is None
    assert [c.framing_slug for c in await repo.cards_of_post(first)] == ["biolabs", "spin"]
    assert await repo.cards_of_post(post_ids[(B, 2)]) == []

    decided = await repo.decide(first, BIOLABS, "correct", None, MODERATOR, NOW)
    assert decided == Decision("stored", "correct", MODERATOR)
    assert await walk(repo, BIOLABS) == [(WATCHDOG, 1, BIOLABS), (B, 1, BIOLABS)]
    card = await repo.card(first, BIOLABS)
    assert card is not None
    assert (card.verdict, card.decided_by, card.decided_at) == ("correct", MODERATOR, NOW)
    # After the last card of a framing nothing is left; from the top the rest come again.
    last = await repo.card(post_ids[(B, 1)], BIOLABS)
    assert last is not None
    assert await repo.next_card(BIOLABS, last.cursor) is None


async def test_a_decision_needs_the_verdict_the_card_showed_and_is_audited(db: Backend) -> None:
    repo = await seed(db)
    post_ids = await ids(repo)
    first = post_ids[(A, 1)]
    assert await repo.decide(first, BIOLABS, "debunk", None, MODERATOR, NOW) == Decision(
        "stored", "debunk", MODERATOR
    )
    # Another moderator's card still showed "unreviewed": nothing changes.
    assert await repo.decide(first, BIOLABS, "correct", None, OTHER, NOW) == Decision(
        "conflict", "debunk", MODERATOR
    )
    assert await repo.decide(first, BIOLABS, "debunk", "debunk", OTHER, NOW) == Decision(
        "unchanged", "debunk", MODERATOR
    )
    assert await repo.decide(post_ids[(B, 2)], BIOLABS, "correct", None, OTHER, NOW) == Decision(
        "gone", None, None
    )
    assert await repo.decide(first, BIOLABS, None, "debunk", OTHER, NOW) == Decision(
        "stored", None, OTHER
    )
    assert await db.fetchval("SELECT count(*) FROM verdicts") == 0
    rows = await db.fetchall(
        "SELECT user_id, detail FROM audit_log WHERE action = 'review' ORDER BY id"
    )
    assert [(r[0], r[1]) for r in rows] == [
        (MODERATOR, f"biolabs post {first}: unreviewed -> debunk"),
        (OTHER, f"biolabs post {first}: debunk -> unreviewed"),
    ]


async def test_rejected_matches_leave_trends_and_propagation_and_come_back(db: Backend) -> None:
    repo = await seed(db)
    post_ids = await ids(repo)
    trends, spread = TrendRepository(db), PropagationRepository(db)
    since, until = NOW - timedelta(days=1), NOW

    async def biolab_posts() -> list[tuple[int, int, bool]]:
        found = await spread.framing_posts("biolabs", since, until)
        return [(p.chat_id, p.message_id, p.watchdog) for p in found]

    everything = await spread.framing_posts(None, since, until)
    assert [(p.framing_slug, p.chat_id, p.message_id) for p in everything] == [
        ("biolabs", A, 1),
        ("biolabs", B, 1),
        ("biolabs", WATCHDOG, 1),
        ("spin", A, 1),
        ("spin", A, 2),
    ]
    forward = everything[1]
    assert (forward.forwarded_chat_id, forward.forwarded_message_id) == (A, 1)
    assert forward.posted_at == NOW - timedelta(hours=2)
    assert await biolab_posts() == [(A, 1, False), (B, 1, False), (WATCHDOG, 1, True)]
    assert await trends.first_posts("biolabs") == {"biolabs": unix(NOW) - 3 * 3600}

    await repo.decide(post_ids[(A, 1)], BIOLABS, "wrong_framing", None, MODERATOR, NOW)
    await repo.decide(post_ids[(B, 1)], BIOLABS, "correct", None, MODERATOR, NOW)
    assert await biolab_posts() == [(B, 1, False), (WATCHDOG, 1, True)]
    assert await trends.first_posts() == {
        "biolabs": unix(NOW) - 2 * 3600,
        "spin": unix(NOW) - 3 * 3600,
    }
    linked = await trends.matched_posts("biolabs", 0, unix(NOW))
    assert [(p.chat_id, p.message_id) for p in linked] == [(B, 1)]  # watchdog left out
    days = [(0, unix(NOW) - 2 * 3600), (unix(since), unix(NOW))]
    counts = await trends.daily_counts(days, None)
    assert sorted((c.framing_slug, c.day, c.posts, c.channels) for c in counts) == [
        ("biolabs", 1, 1, 1),  # B's post only: A's rejected, the watchdog's left out
        ("spin", 0, 1, 1),
        ("spin", 1, 2, 1),
    ]
    assert await trends.daily_totals(days) == [1, 4]  # A's, B's: watchdog left out

    await repo.decide(post_ids[(A, 1)], BIOLABS, None, "wrong_framing", MODERATOR, NOW)
    assert await biolab_posts() == [(A, 1, False), (B, 1, False), (WATCHDOG, 1, True)]
    assert await spread.usernames() == {"alpha": A, "watch": WATCHDOG}
    assert await spread.channels() == {
        A: ("Alpha", f"Channel {A}", False),
        B: (None, f"Channel {B}", False),
        WATCHDOG: ("Watch", f"Channel {WATCHDOG}", True),
    }


async def test_term_reviews_and_labelled_posts_count_the_verdicts(db: Backend) -> None:
    repo = await seed(db)
    post_ids = await ids(repo)
    assert await repo.term_reviews("biolabs") == [TermReview(1, "biolab", 3, 0, 0, 0)]
    await repo.decide(post_ids[(A, 1)], BIOLABS, "wrong_framing", None, MODERATOR, NOW)
    await repo.decide(post_ids[(B, 1)], BIOLABS, "correct", None, MODERATOR, NOW)
    await repo.decide(post_ids[(WATCHDOG, 1)], BIOLABS, "debunk", None, MODERATOR, NOW)
    (review,) = await repo.term_reviews("biolabs")
    assert review == TermReview(1, "biolab", 3, 1, 1, 1) and review.reviewed == 3
    assert await repo.term_reviews("spin") == [TermReview(2, "spin", 2, 0, 0, 0)]
    assert await repo.term_reviews("nope") == []
    # The posts with a verdict for the framing, and the newest stored post (weather).
    labelled = {p.post_id: (p.verdict, p.matched) for p in await repo.labelled_posts(BIOLABS, 1)}
    assert labelled == {
        post_ids[(A, 1)]: ("wrong_framing", True),
        post_ids[(B, 1)]: ("correct", True),
        post_ids[(WATCHDOG, 1)]: ("debunk", True),
        post_ids[(B, 2)]: (None, False),
    }
    assert {p.post_id for p in await repo.labelled_posts(SPIN, 2)} == {
        post_ids[(B, 2)],
        post_ids[(WATCHDOG, 1)],
    }
    assert await repo.framing_slug(SPIN) == "spin" and await repo.framing_slug(99) is None
    assert await repo.framing_id("biolabs") == BIOLABS and await repo.framing_id("x") is None
    assert await repo.post_id(A, 99) is None
