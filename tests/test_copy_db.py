"""`framewatch copy-db`: SQLite -> PostgreSQL -> SQLite keeps every row of every table, a
target holding data is refused untouched, a failed copy leaves the target empty, and wrong
URLs or unreachable servers end in one clear line and exit code 2."""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from storage.db import open_database
from storage.pg.copy import CopyError, Row, copy_database
from storage.pg.copy_pg import PgTarget
from storage.pg.copy_sqlite import SqliteSource
from storage.pg.copy_tables import COPIED, NOT_COPIED
from storage.pg.migrate import migrate
from tests.cli import run_framewatch
from tests.copy_seed import seed_every_table
from tests.pg_server import PgServer

PASSWORD = "s3cret-pw"  # the throwaway server trusts every local user: any password works


def _with_password(url: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")


def _tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted; FTS5 tables by rowid, their shadow tables left out."""
    conn = sqlite3.connect(path)
    try:
        listed = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'"
        ).fetchall()
        virtual = {n for n, sql in listed if sql.startswith("CREATE VIRTUAL")}
        shadow = {
            v + s for v in virtual for s in ("_config", "_content", "_data", "_docsize", "_idx")
        }
        found = {}
        for name, _ in listed:
            if name in shadow or name == "posts_fts":
                continue
            key = "rowid, " if name in virtual else ""
            rows = conn.execute(f"SELECT {key}* FROM {name}").fetchall()
            found[name] = sorted(rows, key=repr)
        return found
    finally:
        conn.close()


async def _pg_schema(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' UNION ALL"
        " SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
    )
    return [(r[0], r[1]) for r in rows]


def _search(path: Path, word: str) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        sql = "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? ORDER BY rowid"
        return [r[0] for r in conn.execute(sql, (word,))]
    finally:
        conn.close()


async def _cli(*args: str, cwd: Path, db: Path | None = None) -> Any:
    return await asyncio.to_thread(run_framewatch, "copy-db", *args, cwd=cwd, db=db)


def test_every_table_is_copied_or_said_not_to_be(tmp_path: Path) -> None:
    async def tables() -> set[str]:
        db = await open_database(tmp_path / "x.db")
        try:
            rows = await db.fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " AND name NOT LIKE 'posts_fts_%' AND name NOT LIKE 'post_lemmas_%'"
            )
            return {r[0] for r in rows}
        finally:
            await db.close()

    assert asyncio.run(tables()) == set(COPIED) | NOT_COPIED.keys()


async def test_round_trip_keeps_every_row(tmp_path: Path, pg_url: str) -> None:
    source, back = tmp_path / "source.db", tmp_path / "back.db"
    await seed_every_table(source)
    before = _tables(source)
    assert all(before[t] for t in COPIED), [t for t in COPIED if not before[t]]
    conn = await asyncpg.connect(pg_url)
    try:
        await migrate(conn)
        schema = await _pg_schema(conn)
    finally:
        await conn.close()

    there = await _cli("--to", _with_password(pg_url), cwd=tmp_path, db=source)
    assert there.returncode == 0, there.stderr
    assert PASSWORD not in there.stdout + there.stderr and ":***@" in there.stdout
    assert "123:TEST" not in there.stdout + there.stderr
    assert re.search(rf"^\s+posts\s+{len(before['posts'])}$", there.stdout, re.MULTILINE)
    assert "Traceback" not in there.stderr

    conn = await asyncpg.connect(pg_url)
    try:
        for table in ("posts", "matches", "audit_log", "trend_posts", "post_lemma_queue"):
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == len(before[table])
        # The sequences moved past the copied ids: a new row takes the next one.
        top = max(r[0] for r in before["audit_log"])
        new_id = await conn.fetchval(
            "INSERT INTO audit_log (at, action) VALUES ('now', 'x') RETURNING id"
        )
        assert new_id == top + 1
        await conn.execute("DELETE FROM audit_log WHERE id = $1", new_id)
        # The indexes and foreign keys set aside during the copy are all back.
        assert await _pg_schema(conn) == schema
        # Planner statistics were gathered (a table never analysed has reltuples -1).
        assert await conn.fetchval("SELECT reltuples FROM pg_class WHERE relname = 'posts'") == len(
            before["posts"]
        )
    finally:
        await conn.close()

    home = await _cli("--from", pg_url, "--to", f"sqlite:{back}", cwd=tmp_path)
    assert home.returncode == 0, home.stderr
    assert _tables(back) == before
    # posts_fts was rebuilt on the way back: search finds the same posts.
    assert _search(back, "биолаборатории") == _search(source, "биолаборатории") != []


async def test_a_target_holding_data_is_refused_untouched(tmp_path: Path, pg_url: str) -> None:
    source = tmp_path / "source.db"
    await seed_every_table(source)
    assert (await _cli("--to", pg_url, cwd=tmp_path, db=source)).returncode == 0
    conn = await asyncpg.connect(pg_url)
    try:
        posts = await conn.fetchval("SELECT count(*) FROM posts")
        again = await _cli("--to", pg_url, cwd=tmp_path, db=source)
        assert again.returncode == 2
        assert "is not empty" in again.stderr and "nothing was written" in again.stderr
        assert await conn.fetchval("SELECT count(*) FROM posts") == posts
    finally:
        await conn.close()

    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    back = await _cli("--from", pg_url, "--to", f"sqlite:{source}", cwd=tmp_path)
    assert back.returncode == 2 and "is not empty" in back.stderr
    assert hashlib.sha256(source.read_bytes()).hexdigest() == digest


class _FailingSource:
    """A real source that breaks while reading post_versions (after posts were written)."""

    def __init__(self, inner: SqliteSource) -> None:
        self._inner = inner
        self.label = inner.label

    async def open(self) -> None:
        await self._inner.open()

    async def columns(self, table: str) -> list[str]:
        return await self._inner.columns(table)

    async def count(self, table: str) -> int:
        return await self._inner.count(table)

    async def chunks(self, table: str, columns: Sequence[str]) -> AsyncIterator[list[Row]]:
        if table == "post_versions":
            raise CopyError("the source broke")
        async for rows in self._inner.chunks(table, columns):
            yield rows


async def test_a_failed_copy_leaves_the_target_empty(tmp_path: Path, pg_url: str) -> None:
    source = tmp_path / "source.db"
    await seed_every_table(source)
    reader, target = SqliteSource(str(source)), PgTarget(pg_url)
    seen: list[str] = []
    try:
        with pytest.raises(CopyError, match="the source broke"):
            await copy_database(_FailingSource(reader), target, lambda t, d, n: seen.append(t))
        assert "posts" in seen  # posts had been written before it broke
        assert await target.tables_with_rows() == []
    finally:
        await reader.close()
        await target.close()


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        # foreign keys are not enforced on a bare connection
        ("INSERT INTO post_bands (bucket, post_id) VALUES (-5, 999999)", "points at a missing row"),
        ("UPDATE posts SET text = 'a' || char(0) || 'b' WHERE id = 2",
         "table posts: a value PostgreSQL cannot store"),
    ],
)  # fmt: skip
async def test_a_row_postgresql_refuses_fails_the_copy_whole(
    tmp_path: Path, pg_url: str, damage: str, expected: str
) -> None:
    source = tmp_path / "source.db"
    await seed_every_table(source)
    raw = sqlite3.connect(source)
    raw.execute(damage)
    raw.commit()
    raw.close()
    done = await _cli("--to", pg_url, cwd=tmp_path, db=source)
    assert done.returncode == 1, done.stderr
    assert expected in done.stderr and "nothing was kept" in done.stderr
    assert "Traceback" not in done.stderr
    target = PgTarget(pg_url)
    try:
        assert await target.tables_with_rows() == []
    finally:
        await target.close()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--to", f"mysql://root:{PASSWORD}@db/x"], "is not a database URL"),
        (["--to", f"postgresql://u:{PASSWORD}@127.0.0.1:1/x"], "cannot reach PostgreSQL"),
        (["--to", f"postgresql://u:{PASSWORD}@no-such-host.invalid/x"], "cannot reach"),
        (["--to", f"postgresql://u:{PASSWORD}@host:port/x"], "not a readable PostgreSQL URL"),
        (["--to", "sqlite:"], "sqlite: needs a file path"),
        (["--to", "sqlite:elsewhere.db"], "between SQLite and PostgreSQL"),
        (["--from", f"postgresql://u:{PASSWORD}@127.0.0.1:1/x", "--to", "sqlite:no/such/x.db"],
         "folder no/such does not exist"),  # the target is looked at first
    ],
)  # fmt: skip
async def test_wrong_urls_end_in_one_clear_line(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    done = await _cli(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


async def test_a_missing_database_or_folder_is_named(
    tmp_path: Path, pg_server: PgServer, pg_url: str
) -> None:
    source = tmp_path / "source.db"
    await seed_every_table(source)
    missing = await _cli("--to", pg_server.url("no_such_db"), cwd=tmp_path, db=source)
    assert missing.returncode == 2 and "the database does not exist" in missing.stderr
    no_file = await _cli("--from", "sqlite:missing.db", "--to", pg_url, cwd=tmp_path)
    assert no_file.returncode == 2 and "no database at missing.db" in no_file.stderr
    empty = await _cli("--from", pg_url, "--to", "sqlite:x.db", cwd=tmp_path)
    assert empty.returncode == 2 and "holds no FrameWatch database" in empty.stderr
    assert (await _cli("--to", pg_url, cwd=tmp_path, db=source)).returncode == 0
    folder = await _cli("--from", pg_url, "--to", "sqlite:no/such/x.db", cwd=tmp_path)
    assert folder.returncode == 2 and "folder no/such does not exist" in folder.stderr


def test_help_says_what_is_copied_and_what_is_rebuilt(tmp_path: Path) -> None:
    done = run_framewatch("copy-db", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    assert "the audit log" in said and "Rebuilt on the target instead of copied" in said
    assert not (tmp_path / "framewatch.db").exists()  # help touches no database
    listed = run_framewatch("--help", cwd=tmp_path)
    assert "    copy-db " in listed.stdout


async def test_a_damaged_source_file_is_told_by_its_code(tmp_path: Path, pg_url: str) -> None:
    """A driver's failure is one line told apart by its code (storage/errors.py), naming the
    side that failed, and the target keeps nothing."""
    (tmp_path / "broken.db").write_bytes(b"this is not a database file at all" * 200)
    done = await _cli("--from", "sqlite:broken.db", "--to", pg_url, cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "database sqlite:broken.db: the file is damaged" in line
    assert "(SQLITE_NOTADB)" in line and "nothing was kept on postgresql://" in line
    target = PgTarget(pg_url)
    try:
        assert await target.tables_with_rows() == []
    finally:
        await target.close()
