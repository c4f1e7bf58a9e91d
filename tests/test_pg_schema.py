"""The PostgreSQL schema (storage/pg/migrations) against SQLite's after every migration:
the same tables, columns, indexes and views, a twin for every trigger, and the same derived
rows after the same writes. A new SQLite migration without its PostgreSQL twin fails here."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from storage.db import Database
from storage.dialect import POSTGRESQL, SQLITE
from storage.pg.migrate import migrate, migration_files
from storage.trend_store import add_trend_posts_sql

# Columns only PostgreSQL has: the search vectors that replace SQLite's FTS5 tables, and
# post_lemmas' key, which is the FTS5 table's rowid in SQLite.
PG_ONLY_COLUMNS = {
    "posts": {"search_tsv"},
    "post_lemmas": {"post_id", "search_tsv"},
}
# SQLite FTS5 tables with no table of that name on PostgreSQL: where their index lives.
FTS_TWINS = {"posts_fts": ("posts", "search_tsv")}
# Each SQLite trigger and the PostgreSQL trigger doing its work (None: a generated column).
TRIGGER_TWINS: dict[str, str | None] = {
    "posts_fts_insert": None,
    "posts_fts_delete": None,
    "posts_fts_update": None,
    "posts_neardup_insert": "posts_inserted",
    "posts_scan_insert": "posts_inserted",
    "posts_lemmas_insert": "posts_inserted",
    "posts_neardup_update": "posts_text_updated",
    "posts_scan_update": "posts_text_updated",
    "posts_lemmas_update": "posts_text_updated",
    "posts_lemmas_delete": "posts_deleted",
    "trend_posts_moved": "trend_posts_moved",
    "trend_posts_remove": "trend_posts_remove",
    "trend_posts_verdict_added": "trend_posts_verdict_added",
    "trend_posts_verdict_changed": "trend_posts_verdict_changed",
    "trend_posts_verdict_removed": "trend_posts_verdict_removed",
}
FTS_SHADOW = ("_config", "_content", "_data", "_docsize", "_idx")


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(pg_url)
    try:
        await migrate(conn)
        yield conn
    finally:
        await conn.close()


async def _sqlite_tables(db: Database) -> tuple[list[str], set[str]]:
    """(ordinary tables, FTS5 tables), without FTS5's shadow tables."""
    rows = await db.fetchall(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    virtual = {r["name"] for r in rows if r["sql"].upper().startswith("CREATE VIRTUAL TABLE")}
    shadow = {v + suffix for v in virtual for suffix in FTS_SHADOW}
    plain = sorted(r["name"] for r in rows if r["name"] not in virtual | shadow)
    return plain, virtual


async def _pg_columns(pg: asyncpg.Connection, table: str) -> list[tuple[str, bool]]:
    rows = await pg.fetch(
        "SELECT column_name, is_nullable FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        table,
    )
    return [(r["column_name"], r["is_nullable"] == "YES") for r in rows]


async def test_every_sqlite_table_has_the_same_columns_on_postgresql(
    db: Database, pg: asyncpg.Connection
) -> None:
    plain, virtual = await _sqlite_tables(db)
    assert len(plain) > 20
    for table in [*plain, *(virtual - FTS_TWINS.keys())]:
        info = await db.fetchall(f"PRAGMA table_info({table})")
        expected = [(r["name"], not r["notnull"] and not r["pk"]) for r in info]
        extra = PG_ONLY_COLUMNS.get(table, set())
        found = [(n, null) for n, null in await _pg_columns(pg, table) if n not in extra]
        if table in virtual:  # FTS5 columns have no type or constraint: names only
            expected, found = [(n, True) for n, _ in expected], [(n, True) for n, _ in found]
        assert found == expected, f"{table}: PostgreSQL has {found}, SQLite {expected}"
    for fts, (table, column) in FTS_TWINS.items():
        assert fts in virtual
        assert column in [n for n, _ in await _pg_columns(pg, table)]


_PG_KEYS = """
SELECT a.attname FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = to_regclass($1) AND i.indisprimary
ORDER BY array_position(i.indkey::int2[], a.attnum)
"""
_PG_FOREIGN_KEYS = """
SELECT a.attname, cr.relname, af.attname, c.confdeltype::text FROM pg_constraint c
JOIN pg_class cr ON cr.oid = c.confrelid
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1]
WHERE c.contype = 'f' AND c.conrelid = to_regclass($1)
"""
_ON_DELETE = {"a": "NO ACTION", "c": "CASCADE", "n": "SET NULL", "r": "RESTRICT"}


def _default(value: str | None) -> str | None:
    """A column default as both write it: PostgreSQL adds casts ('x'::text)."""
    return None if value is None else re.sub(r"::[a-z ]+$", "", value)


async def test_keys_defaults_and_foreign_keys_match(db: Database, pg: asyncpg.Connection) -> None:
    plain, _ = await _sqlite_tables(db)
    for table in plain:
        info = await db.fetchall(f"PRAGMA table_info({table})")
        keys = [r["name"] for r in sorted(info, key=lambda r: r["pk"]) if r["pk"]]
        assert [r[0] for r in await pg.fetch(_PG_KEYS, table)] == keys, table
        defaults = {r["name"]: _default(r["dflt_value"]) for r in info}
        pg_defaults = {
            r[0]: _default(r[1])
            for r in await pg.fetch(
                "SELECT column_name, column_default FROM information_schema.columns"
                " WHERE table_schema = 'public' AND table_name = $1",
                table,
            )
        }
        assert {n: pg_defaults[n] for n in defaults} == defaults, table
        foreign = sorted(
            (r["from"], r["table"], r["to"], r["on_delete"])
            for r in await db.fetchall(f"PRAGMA foreign_key_list({table})")
        )
        pg_foreign = sorted(
            (r[0], r[1], r[2], _ON_DELETE[r[3]]) for r in await pg.fetch(_PG_FOREIGN_KEYS, table)
        )
        assert pg_foreign == foreign, table


async def test_indexes_views_and_triggers_have_twins(db: Database, pg: asyncpg.Connection) -> None:
    indexes = {
        r[0]
        for r in await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    }
    pg_indexes = {r[0] for r in await pg.fetch("SELECT indexname FROM pg_indexes")}
    assert indexes and indexes <= pg_indexes, indexes - pg_indexes

    views = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type='view'")}
    for view in views:
        columns = [r["name"] for r in await db.fetchall(f"PRAGMA table_info({view})")]
        assert [n for n, _ in await _pg_columns(pg, view)] == columns, view

    triggers = {
        r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type='trigger'")
    }
    assert triggers == TRIGGER_TWINS.keys(), "a SQLite trigger without a PostgreSQL twin"
    pg_triggers = {
        r[0] for r in await pg.fetch("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    }
    assert {t for t in TRIGGER_TWINS.values() if t} == pg_triggers


async def test_migrations_are_recorded_once(pg: asyncpg.Connection) -> None:
    assert await migrate(pg) == []
    names = [r[0] for r in await pg.fetch("SELECT name FROM schema_migrations ORDER BY version")]
    assert names == [name for _, name, _ in migration_files()]
    assert names[:2] == ["0001_schema.sql", "0002_triggers.sql"]


async def test_processes_migrating_at_once_apply_each_file_once(pg_url: str) -> None:
    first, second = await asyncpg.connect(pg_url), await asyncpg.connect(pg_url)
    try:
        done = await asyncio.gather(migrate(first), migrate(second))
        assert sorted(done, key=len) == [[], [name for _, name, _ in migration_files()]]
    finally:
        await first.close()
        await second.close()


NOW = "2026-11-25T12:00:00+00:00"
# Not a statement: storage/trend_store.py's, in each dialect, for the posts given. What
# stores matches runs it after them (migration 0021 dropped the insert trigger).
ADD_TREND_POSTS = "add_trend_posts"
# The same writes on both databases, touching every trigger (SQLite placeholders).
WRITES: list[tuple[str, tuple[Any, ...]]] = [
    ("INSERT INTO channels (chat_id, title, added_at, updated_at) VALUES (?, 't', ?, ?)",
     (-1001, NOW, NOW)),
    ("INSERT INTO channels (chat_id, title, added_at, updated_at) VALUES (?, 'u', ?, ?)",
     (-1002, NOW, NOW)),
    ("INSERT INTO posts (id, chat_id, message_id, posted_at, text, stored_at)"
     " VALUES (1, -1001, 1, 100, 'Ёлка стали', ?), (2, -1001, 2, 200, 'b', ?),"
     " (3, -1002, 3, 300, 'c', ?)", (NOW, NOW, NOW)),
    ("INSERT INTO framings (id, slug, title, created_at) VALUES (1, 'f', 'F', ?), (2, 'g', 'G', ?)",
     (NOW, NOW)),
    ("INSERT INTO terms (id, framing_id, text, key, created_at) VALUES"
     " (1, 1, 'a', 'a', ?), (2, 1, 'b', 'b', ?), (3, 2, 'c', 'c', ?)", (NOW, NOW, NOW)),
    ("INSERT INTO post_lemmas (rowid, forms, lemmas) VALUES (1, 'елка стали', 'елка сталь_стать')",
     ()),
    ("DELETE FROM post_lemma_queue WHERE post_id = 1", ()),
    ("DELETE FROM neardup_queue WHERE post_id = 2", ()),
    ("UPDATE post_scan SET needs_scan = 0, scanned_version = 4", ()),
    ("INSERT INTO matches (post_id, term_id, framing_id, start_pos, end_pos, matched_at) VALUES"
     " (1, 1, 1, 0, 1, ?), (1, 2, 1, 2, 3, ?), (2, 1, 1, 0, 1, ?), (2, 3, 2, 0, 1, ?),"
     " (3, 3, 2, 0, 1, ?)", (NOW, NOW, NOW, NOW, NOW)),
    (ADD_TREND_POSTS, (1, 2, 3)),
    ("INSERT INTO verdicts (post_id, framing_id, term_id, verdict, user_id, decided_at)"
     " VALUES (1, 1, 1, 'debunk', 7, ?), (3, 2, 3, 'correct', 7, ?)", (NOW, NOW)),
    ("UPDATE verdicts SET verdict = 'wrong_framing' WHERE post_id = 3", ()),
    ("UPDATE verdicts SET verdict = 'correct' WHERE post_id = 1", ()),
    ("INSERT INTO matches (post_id, term_id, framing_id, start_pos, end_pos, matched_at)"
     " VALUES (3, 1, 1, 0, 1, ?)", (NOW,)),
    (ADD_TREND_POSTS, (3,)),
    ("DELETE FROM verdicts WHERE post_id = 3", ()),
    ("DELETE FROM matches WHERE post_id = 1 AND term_id = 1", ()),
    ("DELETE FROM matches WHERE post_id = 2 AND term_id = 3", ()),
    ("UPDATE posts SET posted_at = 250, chat_id = -1002 WHERE id = 2", ()),
    ("UPDATE posts SET text = 'Стали елкой' WHERE id = 1", ()),
    ("DELETE FROM posts WHERE id = 3", ()),
]  # fmt: skip
DERIVED = {
    "trend_posts": "framing_id, post_id, posted_at, chat_id",
    "neardup_queue": "post_id",
    "post_scan": "post_id, needs_scan, scanned_version",
    "post_lemma_queue": "post_id",
    "post_lemmas": "{key}, forms, lemmas",
}


def _pg_sql(sql: str) -> str:
    numbers = iter(range(1, 100))
    sql = sql.replace("post_lemmas (rowid,", "post_lemmas (post_id,")
    return re.sub(r"\?", lambda _: f"${next(numbers)}", sql)


async def _derived(db: Database, pg: asyncpg.Connection) -> tuple[dict[str, Any], dict[str, Any]]:
    lite, post = {}, {}
    for table, columns in DERIVED.items():
        order = "ORDER BY " + columns.split(",")[0].replace("{key}", "1")
        lite[table] = [
            tuple(r)
            for r in await db.fetchall(f"SELECT {columns.format(key='rowid')} FROM {table} {order}")
        ]
        post[table] = [
            tuple(r)
            for r in await pg.fetch(f"SELECT {columns.format(key='post_id')} FROM {table} {order}")
        ]
    return lite, post


async def test_the_same_writes_give_the_same_derived_rows(
    db: Database, pg: asyncpg.Connection
) -> None:
    for sql, params in WRITES:
        lite_sql, lite_params = sql, list(params)
        pg_sql, pg_params = _pg_sql(sql), list(params)
        if sql == ADD_TREND_POSTS:
            lite_sql, lite_params = add_trend_posts_sql(SQLITE, params)
            pg_sql, pg_params = add_trend_posts_sql(POSTGRESQL, params)
            pg_sql = _pg_sql(pg_sql)
        async with db.transaction() as conn:
            await conn.execute(lite_sql, lite_params)
        await pg.execute(pg_sql, *pg_params)
        lite, post = await _derived(db, pg)
        assert post == lite, f"after {sql!r}"
    # The writes reached every derived table (the comparison is not of empty tables).
    assert lite["trend_posts"] == [(1, 1, 100, -1001), (1, 2, 250, -1002)]
    assert lite["post_scan"] == [(1, 1, 4), (2, 0, 4)]
    assert lite["post_lemmas"] == [] and lite["post_lemma_queue"] == [(1,), (2,)]


async def test_search_vectors_fold_like_fts5(pg: asyncpg.Connection) -> None:
    assert await pg.fetchval("SELECT fw_fold('Ёлка Її CAFÉ Łódź')") == "Ёлка Її CAFE Łodz"
    folded = await pg.fetchval("SELECT to_tsvector('simple', fw_fold('Ёлка Її CAFÉ'))::text")
    assert folded == "'cafe':3 'ёлка':1 'її':2"
    long = "а" * 1100  # 2,200 bytes: too long for a tsvector lexeme
    assert await pg.fetchval("SELECT fw_tokens($1)::text", f"{long} да") == "'да':2"
    tokens = await pg.fetchval("SELECT fw_tokens('елка сталь_стать it''s')::text")
    assert tokens == "'it''s':3 'елка':1 'сталь_стать':2"
    await pg.execute(
        "INSERT INTO channels (chat_id, added_at, updated_at) VALUES (1, 'x', 'x');"
        "INSERT INTO posts (chat_id, message_id, posted_at, text, stored_at)"
        " VALUES (1, 1, 0, 'Новая Елка стоит', 'x');"
        "INSERT INTO post_lemmas (post_id, forms, lemmas)"
        " VALUES (1, 'елка стали', 'елка сталь_стать')"
    )
    found = await pg.fetchval(
        "SELECT count(*) FROM posts WHERE search_tsv @@ to_tsquery('simple', 'елка <-> стоит')"
    )
    assert found == 1
    phrase = "SELECT count(*) FROM post_lemmas WHERE search_tsv @@ $1::tsquery"
    assert await pg.fetchval(phrase, "'елка':B <-> 'сталь_стать':B") == 1
    assert await pg.fetchval(phrase, "'сталь_стать':B <-> 'елка':B") == 0
    assert await pg.fetchval(phrase, "'стали':A & 'сталь_стать':B") == 1  # 0007: weights
    assert await pg.fetchval(phrase, "'стали':B | 'сталь_стать':A") == 0
    assert await pg.fetchval(phrase, "'стали':A <-> 'елка':A") == 0  # not across columns
    await pg.execute("SET enable_seqscan = off")  # the table is tiny: ask for the index
    plan = await pg.fetch(
        "EXPLAIN SELECT 1 FROM posts WHERE search_tsv @@ to_tsquery('simple', 'елка')"
    )
    assert "posts_search" in "\n".join(r[0] for r in plan)


def test_sqlite_is_the_reference(tmp_path: Any) -> None:
    """What fw_fold copies is SQLite's behaviour: posts_fts's tokenizer removes Latin
    accents and keeps Cyrillic letters as they are (ё is not е, ї is not і)."""
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 2')")
    conn.execute("INSERT INTO t VALUES ('Ёлка Її Café Łódź')")
    for query, found in (("ёлка AND її AND cafe AND łodz", 1), ("елка", 0), ("іі", 0)):
        assert conn.execute("SELECT count(*) FROM t WHERE t MATCH ?", (query,)).fetchone() == (
            found,
        ), query
    conn.close()
