"""The backend seam (storage/backend.py, storage/dialect.py, storage/pg/database.py): the
same transaction semantics and dialect helpers on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.backend import Backend
from storage.db import Database, open_backend
from storage.dialect import POSTGRESQL, SQLITE, numbered, pg_rowcount
from storage.framings import FramingRepository
from storage.models import IncomingPost
from storage.pg.connect import PgConnectError
from storage.posts import PostRepository
from storage.roles import RoleRepository
from storage.rule_changes import TermLimitError

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CHANNEL = -1001234567890


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Every test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


def test_placeholders_are_numbered_outside_strings_names_and_comments() -> None:
    sql = (
        "SELECT '?', \"a?b\", x FROM t -- what?\n"
        "WHERE a = ? AND b IN (?, ?) AND c = 'it''s?' AND d = ?"
    )
    assert numbered(sql) == (
        "SELECT '?', \"a?b\", x FROM t -- what?\n"
        "WHERE a = $1 AND b IN ($2, $3) AND c = 'it''s?' AND d = $4"
    )
    assert POSTGRESQL.sql("SELECT ?") == "SELECT $1"
    assert SQLITE.sql("SELECT ?") == "SELECT ?"  # SQLite takes them as they are
    assert numbered("SELECT 1") == "SELECT 1"


def test_rowcount_from_a_command_status() -> None:
    assert pg_rowcount("INSERT 0 1") == 1
    assert pg_rowcount("UPDATE 17") == 17
    assert pg_rowcount("DELETE 0") == 0
    assert pg_rowcount("CREATE TABLE") == 0


def test_int_rows_is_one_parameter_per_column_on_postgresql_one_on_sqlite() -> None:
    table, params = POSTGRESQL.int_rows("k", ["a", "b"], [(1, 2), (3, 4), (5, 6)])
    assert table == "unnest(?::bigint[], ?::bigint[]) WITH ORDINALITY AS k(a, b, n)"
    assert params == [[1, 3, 5], [2, 4, 6]]
    table, params = SQLITE.int_rows("k", ["a", "b"], [(1, 2), (3, 4)])
    assert params == ["[[1, 2], [3, 4]]"]  # one JSON array, however many rows


async def test_int_rows_read_back_in_order(db: Backend) -> None:
    rows = [(7, -1001234567890123), (3, 2), (7, 0)]
    table, params = db.dialect.int_rows("k", ["a", "b"], rows)
    found = await db.fetch_tuples(f"SELECT a, b FROM {table} ORDER BY n", params)
    assert found == rows
    subquery, params = db.dialect.int_list([])
    assert await db.fetchall(f"SELECT 1 WHERE 1 IN {subquery}", params) == []


async def test_atomic_commits_at_the_end_and_rolls_back_on_error(db: Backend) -> None:
    async def half_done() -> None:
        async with db.atomic() as tx:
            assert (
                await tx.execute(
                    "INSERT INTO roles (user_id, role, granted_at) VALUES (?, ?, ?)",
                    (7, "analyst", "2026-01-01"),
                )
                == 1
            )
            assert await tx.fetchval("SELECT role FROM roles WHERE user_id = ?", (7,)) == (
                "analyst"
            )
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await half_done()
    assert await db.fetchval("SELECT count(*) FROM roles") == 0

    async with db.atomic() as tx:
        await tx.executemany(
            "INSERT INTO roles (user_id, role, granted_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO NOTHING",
            [(1, "analyst", "x"), (2, "moderator", "x"), (1, "moderator", "x")],
        )
        assert await tx.execute("UPDATE roles SET granted_at = ? WHERE user_id > ?", ("y", 0)) == 2
    rows = await db.fetchall("SELECT user_id, role FROM roles ORDER BY user_id")
    assert [(r["user_id"], r[1]) for r in rows] == [(1, "analyst"), (2, "moderator")]
    assert await db.fetchone("SELECT role FROM roles WHERE user_id = ?", (99,)) is None
    assert await RoleRepository(db).role_of(2) == "moderator"


async def test_new_ids_follow_the_order_of_a_batch(db: Backend) -> None:
    """store_many inserts in list order on both databases: the ids storing one by one gives."""
    posts = [
        IncomingPost(CHANNEL, message_id, NOW, f"post {message_id}", channel_title="News")
        for message_id in (5, 1, 3)
    ]
    stored = await PostRepository(db).store_many(posts, NOW)
    assert [r.post_id for r in stored] == sorted(r.post_id for r in stored)
    assert [r.outcome for r in stored] == ["new"] * 3


async def test_open_backend_takes_a_path_or_a_url(tmp_path: Path) -> None:
    db = await open_backend(f"sqlite:{tmp_path / 'a.db'}")
    try:
        assert isinstance(db, Database) and db.dialect.is_sqlite
    finally:
        await db.close()
    with pytest.raises(PgConnectError, match="cannot reach PostgreSQL"):
        await open_backend("postgresql://fw:secret@127.0.0.1:1/none")


async def test_concurrent_writers_take_turns(db: Backend) -> None:
    """Write transactions run one at a time on both databases (BEGIN IMMEDIATE on SQLite, an
    advisory lock on PostgreSQL): concurrent /watch each get a rules version of their own,
    and the term limit, checked inside the transaction, lets exactly the allowed number in."""
    framings = FramingRepository(db)
    results = await asyncio.gather(
        *(
            framings.add_term("crowd", f"term {i}", f"term {i}", None, NOW, max_terms=5)
            for i in range(12)
        ),
        return_exceptions=True,
    )
    added = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, TermLimitError)]
    assert len(added) == 5 and len(refused) == 7
    versions = [r.version for r in added]
    assert sorted(versions) == list(range(1, 6))  # no version taken twice
    assert await framings.term_count("crowd") == 5
