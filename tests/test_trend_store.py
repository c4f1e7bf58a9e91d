"""trend_posts kept by the code that stores matches (storage/trend_store.py, migration 0021),
on SQLite and PostgreSQL: after a scan, a rescan, an edit and a verdict, through the one
process's path (replace_for_posts, add_rescan_batch) and the claimed one (store_scanned,
store_rescan), it holds exactly the counted matches' (framing, post) pairs."""

from __future__ import annotations

import ast
import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.context import Services
from bot.framings import check_new_term
from bot.scan import run_scan
from bot.work_scan import ScanWork, run_claimed_scan
from storage.backend import Backend
from storage.models import IncomingPost
from storage.trend_store import add_trend_posts
from storage.verdicts import VerdictRepository
from tests.conftest import DB_FILE, FakeClock

CHANNEL = -1001234567890
TEXTS = [
    "A goodwill gesture, they said.",
    "The organized withdrawal went to plan.",
    "Weather: rain, and a goodwill gesture of sorts.",
    "Nothing to see here.",
]
BATCH = 7  # several batches per pass
# What trend_posts must hold: every match no verdict rejected, once per post and framing.
DERIVED = (
    "SELECT DISTINCT m.framing_id, m.post_id, p.posted_at, p.chat_id"
    " FROM matches m JOIN posts p ON p.id = m.post_id WHERE NOT EXISTS ("
    " SELECT 1 FROM rejected_matches r WHERE r.post_id = m.post_id"
    " AND r.framing_id = m.framing_id) ORDER BY 1, 2"
)
STORED = "SELECT framing_id, post_id, posted_at, chat_id FROM trend_posts ORDER BY 1, 2"


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Every test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


def services_for(db: Backend, tmp_path: Path, clock: FakeClock) -> Services:
    settings = Settings(_env_file=None, bot_token="123:TEST", db_path=str(tmp_path / DB_FILE))
    return Services.create(settings, db, clock)


def post(services: Services, i: int, text: str | None = None) -> IncomingPost:
    return IncomingPost(
        chat_id=CHANNEL,
        message_id=i + 1,
        posted_at=services.clock() - timedelta(days=i % 5, minutes=i),
        text=text or f"{TEXTS[i % len(TEXTS)]} (post {i})",
        channel_title="News",
        channel_username="news",
    )


async def watch(services: Services, slug: str, text: str) -> None:
    term = check_new_term(text)
    added = await services.framings.add_term(slug, term.text, term.key, 7, services.clock())
    assert added.term_added


async def scan(services: Services, claimed: bool) -> None:
    """Every waiting post scanned and every new term rescanned, the one way or the other."""
    if claimed:
        await run_claimed_scan(ScanWork.of(services, batch=BATCH))
    else:
        await run_scan(services.framings, services.matches, services.clock, batch=BATCH)
    assert not await services.db.fetchval("SELECT count(*) FROM post_scan WHERE needs_scan = 1")
    assert not await services.matches.pending_terms()


async def trend_rows(db: Backend) -> list[tuple[Any, ...]]:
    """trend_posts' rows, checked against the matches they are derived from."""
    stored = [tuple(r) for r in await db.fetchall(STORED)]
    assert stored == [tuple(r) for r in await db.fetchall(DERIVED)]
    return stored


@pytest.mark.parametrize("claimed", [False, True], ids=["one-process", "claimed"])
async def test_trend_posts_are_the_counted_matches_after_every_kind_of_store(
    db: Backend, tmp_path: Path, clock: FakeClock, claimed: bool
) -> None:
    services = services_for(db, tmp_path, clock)
    await watch(services, "goodwill-gesture", "goodwill gesture")
    await services.posts.store_many([post(services, i) for i in range(40)], clock())

    await scan(services, claimed)  # replace_for_posts / store_scanned
    first = await trend_rows(db)
    assert len(first) == 20  # posts 0, 2, 4, ...: one row each, whatever the term count

    # A moderator rejects the match of post 2 ("... goodwill gesture of sorts"); a new term
    # of the same framing then matches it again: the rescan must not count it back.
    verdicts = VerdictRepository(db)
    rejected = await verdicts.post_id(CHANNEL, 3)
    framing = await verdicts.framing_id("goodwill-gesture")
    assert rejected is not None and framing is not None
    decided = await verdicts.decide(rejected, framing, "debunk", None, 7, clock())
    assert decided.outcome == "stored"
    await watch(services, "goodwill-gesture", "of sorts")
    await watch(services, "organized-withdrawal", "organized withdrawal")

    await scan(services, claimed)  # add_rescan_batch / store_rescan: insert_many
    second = await trend_rows(db)
    assert len(second) == 19 + 10
    assert (framing, rejected) not in {(r[0], r[1]) for r in second}
    twice = "SELECT count(*) FROM matches WHERE post_id = ? AND framing_id = ?"
    assert await db.fetchval(twice, (rejected, framing)) == 2  # stored, not counted

    # New posts and an edit (its matches dropped, the post scanned again) in one pass.
    edited = post(services, 0, "Now an organized withdrawal instead.")
    edited = dataclasses.replace(edited, edited_at=clock() + timedelta(minutes=1))
    await services.posts.store_many([edited, *(post(services, i) for i in range(40, 50))], clock())
    await scan(services, claimed)
    third = await trend_rows(db)
    assert len(third) == 29 - 1 + 1 + 5 + 3  # post 0 moved framing; 5 + 3 new posts


async def test_adding_them_again_changes_nothing(
    db: Backend, tmp_path: Path, clock: FakeClock
) -> None:
    services = services_for(db, tmp_path, clock)
    await watch(services, "goodwill-gesture", "goodwill gesture")
    await services.posts.store_many([post(services, i) for i in range(12)], clock())
    await scan(services, claimed=False)
    before = await trend_rows(db)

    async with db.atomic() as tx:
        await add_trend_posts(tx, range(1, 100))  # every post, and ids of none
        await add_trend_posts(tx, [])

    assert await trend_rows(db) == before and before


def _inserts_matches(node: ast.AST, constants: set[str]) -> bool:
    return any(
        (
            isinstance(n, ast.Constant)
            and isinstance(n.value, str)
            and "INSERT INTO matches" in n.value
        )
        or (isinstance(n, ast.Name) and n.id in constants)
        for n in ast.walk(node)
    )


def test_every_function_inserting_matches_adds_their_trend_posts() -> None:
    """trend_posts has no insert trigger (migration 0021): a function that inserts matches
    must call add_trend_posts in it, or trends silently miss its matches."""
    checked = []
    for path in sorted((Path(__file__).resolve().parents[1] / "storage").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id
            for statement in tree.body
            if isinstance(statement, ast.Assign) and _inserts_matches(statement.value, set())
            for target in statement.targets
            if isinstance(target, ast.Name)
        }
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) and _inserts_matches(
                function, constants
            ):
                calls = {
                    n.func.id
                    for n in ast.walk(function)
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                }
                assert "add_trend_posts" in calls, f"{path.name}: {function.name}"
                checked.append(function.name)
    # The scans' batch write (insert_fresh) and the rescans' (insert_many); a new place
    # that inserts matches is checked the same way.
    assert {"insert_fresh", "insert_many"} <= set(checked), checked
