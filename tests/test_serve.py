"""The browser view's metadata and stored queries, on a real seeded SQLite file (every
migration applied, the reviews' `verdicts` table included)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.serve import build_metadata
from bot.serve_plugin import READER, ServePlugin, script_json
from bot.serve_sql import fts_query, precision_percent, sql_functions
from storage.browser_queries import PUBLIC_TABLES, QUERIES, available, read_tables
from tests.serve_seed import ANALYST_ID, NOW, SUBSCRIBER, seed_database

ZONE = ZoneInfo("Europe/Kyiv")


@pytest.fixture
async def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "framewatch.db"
    await seed_database(path)
    return path


def run(path: Path, name: str, **params: str) -> list[dict[str, Any]]:
    """A stored query as Datasette runs it: read-only connection, our SQL functions, every
    named parameter given ("" when not set, as Datasette does)."""
    [query] = [q for q in QUERIES if q.name == name]
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        for fn_name, arity, function in sql_functions(ZONE):
            conn.create_function(fn_name, arity, function, deterministic=True)
        names = {"framing", "days", "minutes", "min_channels", "link", "q"}
        values = {n: params.get(n, "") for n in names if f":{n}" in query.sql}
        return [dict(row) for row in conn.execute(query.sql, values)]
    finally:
        conn.close()


def add_verdicts(path: Path, rows: list[tuple[int, int, int, str]]) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO verdicts (post_id, framing_id, term_id, verdict, user_id, decided_at)"
            " VALUES (?, ?, ?, ?, 7, ?)",
            [(*row, NOW.isoformat()) for row in rows],
        )
    conn.close()


async def test_every_query_runs_and_those_missing_a_table_are_left_out(db_path: Path) -> None:
    tables = read_tables(str(db_path))
    names = {q.name for q in available(tables)}
    without = {q.name for q in available(tables - {"verdicts"})}
    assert "verdicts" in tables and not without & {"review_queue", "term_precision"}
    assert len(names) >= 8
    for name in names:
        run(db_path, name)  # no SQL error with every parameter left empty
    queries = build_metadata("framewatch", read_tables(str(db_path)), False)["databases"][
        "framewatch"
    ]["queries"]
    assert {"review_queue", "term_precision"} <= set(queries)
    assert all(q["title"] and q["description"] and "SELECT" in q["sql"] for q in queries.values())


async def test_timeline_first_seen_amplifiers_and_the_push(db_path: Path) -> None:
    timeline = run(db_path, "framing_timeline", framing="biolabs")
    assert timeline == [
        {"day": "2026-11-16", "posts": 1, "channels": 1},
        {"day": "2026-11-25", "posts": 4, "channels": 4},
    ]
    assert run(db_path, "framing_timeline", framing="biolabs", days="3") == timeline[1:]
    first = run(db_path, "first_seen", framing=" BIOLABS ")
    assert first[0]["link"] == "https://t.me/chan1/1" and len(first) == 5
    amplifiers = run(db_path, "amplifiers", framing="biolabs")
    assert [a["channel"] for a in amplifiers] == ["@chan2", "@chan3", "@chan4"]
    [push] = run(db_path, "coordinated_pushes")
    assert (push["link"], push["channels"], push["minutes"]) == ("https://t.me/chan1/100", 4, 9.0)
    assert run(db_path, "coordinated_pushes", min_channels="5") == []
    assert run(db_path, "coordinated_pushes", framing="goodwill") == []
    surging = run(db_path, "surging")
    assert surging[0]["framing"] == "biolabs" and surging[0]["recent_posts"] == 4


async def test_private_channel_links_versions_and_search(db_path: Path) -> None:
    goodwill = run(db_path, "first_seen", framing="goodwill")
    assert goodwill[0]["link"] == "https://t.me/c/1234567890/5"
    versions = run(db_path, "post_versions", link="https://t.me/chan1/1")
    assert [v["replaced"] for v in versions][-1] == "current" and len(versions) == 2
    assert versions[0]["text"] == "Про биолаборатории снова пишут."
    assert len(run(db_path, "post_versions", link="t.me/c/1234567890/5")) == 1
    assert run(db_path, "post_versions", link="not a link") == []
    found = run(db_path, "search_posts", q="биолаборатории")
    assert found and all(row["link"].startswith("https://t.me/chan") for row in found)
    assert run(db_path, "search_posts", q="биолаб*")
    for hostile in ('AND (" NEAR', '"', "*", "", "-- ;"):
        assert run(db_path, "search_posts", q=hostile) == []
    matrix = run(db_path, "channel_framing")
    assert {"channel": "@chan2", "framing": "goodwill"}.items() <= matrix[1].items()


async def test_review_queue_and_precision_read_the_verdicts(db_path: Path) -> None:
    queue_before = _queue_with(db_path, [])
    assert len(queue_before) == 7  # every matched post and framing, newest first
    assert queue_before[0]["link"] == "https://t.me/chan4/103"
    assert (
        queue_before[0]["term"] == "биолаборатории"
        and "биолаборатории" in queue_before[0]["context"]
    )
    conn = sqlite3.connect(db_path)
    ids = dict(conn.execute("SELECT slug, id FROM framings").fetchall())
    terms = dict(conn.execute("SELECT framing_id, id FROM terms").fetchall())
    posts = [
        r[0]
        for r in conn.execute(
            "SELECT post_id FROM trend_posts WHERE framing_id = ?", (ids["biolabs"],)
        )
    ]
    conn.close()
    bio, term = ids["biolabs"], terms[ids["biolabs"]]
    kinds = ("correct", "correct", "debunk", "wrong_framing")
    add_verdicts(
        db_path, [(post, bio, term, kind) for post, kind in zip(posts, kinds, strict=False)]
    )
    queue = run(db_path, "review_queue")
    assert len(queue) == 3 and {r["framing"] for r in queue} == {"biolabs", "goodwill"}
    assert [r["framing"] for r in run(db_path, "review_queue", framing="goodwill")] == [
        "goodwill"
    ] * 2
    precision = {r["framing"]: r for r in run(db_path, "term_precision")}
    assert precision["biolabs"] == {
        "framing": "biolabs",
        "term": "биолаборатории",
        "reviewed": 4,
        "correct": 2,
        "wrong_framing": 1,
        "debunk": 1,
        "precision_pct": None,
        "matched_posts": 5,
    }  # fmt: skip: precision is shown from 20 verdicts, as /framings shows it
    assert precision["goodwill"]["reviewed"] == 0 and precision["goodwill"]["precision_pct"] is None


def _queue_with(path: Path, rows: list[tuple[int, int, int, str]]) -> list[dict[str, Any]]:
    copy = path.with_name("queue.db")
    source, target = sqlite3.connect(path), sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    add_verdicts(copy, rows)
    return run(copy, "review_queue")


def test_precision_is_the_wilson_lower_bound_from_20_verdicts() -> None:
    # 17 of 20: p = 0.85, z = 1.96: (p + z²/40 - z·sqrt(p(1-p)/20 + z²/1600)) / (1 + z²/20)
    z = 1.959963984540054
    p, n = 17 / 20, 20
    bound = (p + z * z / (2 * n) - z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (
        1 + z * z / n
    )
    assert precision_percent(17, 20) == round(100 * bound, 1) == 64.0
    assert precision_percent(19, 19) is None and precision_percent(None, 20) is None


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('жест "доброй" AND (воли') == '"жест" "доброй" "AND" "воли"'
    assert fts_query("биолаб* x") == '"биолаб"* "x"'
    assert fts_query(" * ") == '""' and fts_query(None) == '""'


def test_script_json_cannot_close_the_script_element() -> None:
    text = str(script_json([{"framing": "</script><script>alert(1)</script>"}]))
    assert "<" not in text and ">" not in text


async def test_without_a_token_only_public_tables_and_no_sql() -> None:
    plugin = ServePlugin(None, ZONE, "framewatch")
    allowed = plugin.permission_allowed
    for table in ("audit_log", "Roles", "subscribers", "channels", "inbox", "verdicts", "new"):
        assert allowed(None, None, "view-table", ("framewatch", table)) is False
    for table in PUBLIC_TABLES:
        assert allowed(None, None, "view-table", ("framewatch", table)) is None
    assert allowed(None, None, "execute-sql", "framewatch") is False
    reader = {"id": READER}
    assert allowed(None, reader, "view-table", ("framewatch", "audit_log")) is None
    assert allowed(None, reader, "execute-sql", "framewatch") is None
    assert allowed(None, reader, "view-database-download", "framewatch") is False
    assert str(ANALYST_ID) not in str(build_metadata("framewatch", frozenset(), False))
    assert str(SUBSCRIBER) not in str(build_metadata("framewatch", frozenset(), True))


async def test_lemma_search_finds_other_forms_and_reads_any_text(db_path: Path) -> None:
    names = {q.name for q in available(read_tables(str(db_path)))}
    assert "lemma_search" in names
    # «жестом доброй воли» in the post; the query gives the dictionary form.
    found = run(db_path, "lemma_search", q="жест добрая воля")
    assert found and all("жестом доброй воли" in r["text"] for r in found)
    assert found[0]["link"].startswith("https://t.me/") and "goodwill" in found[0]["framings"]
    assert run(db_path, "lemma_search", q='"жестом" добрая воля') == found  # exact form kept
    assert run(db_path, "lemma_search", q='"жест" добрая воля') == []
    for hostile in ('"unclosed', "NEAR(", "^", "", "channel:@nobody", "*"):
        assert run(db_path, "lemma_search", q=hostile) == []
