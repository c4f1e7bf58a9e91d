"""Where SQLite and PostgreSQL differ, for the repositories that run on both (issue 12).

Repositories write one SQL text, in the subset both understand: `?` placeholders, upserts as
`INSERT ... ON CONFLICT (...) DO NOTHING / DO UPDATE` (never INSERT OR IGNORE/REPLACE), new
ids through `RETURNING id` (never lastrowid), `CASE` instead of SQLite's two-argument
max/min, `count(*) FILTER (WHERE ...)` instead of summing booleans, flags as 0/1 integers
(both schemas store them so). What cannot be written once lives here, and only here:

- placeholders: PostgreSQL numbers them ($1, $2 ...); each SQL text is rewritten once and
  the result cached.
- a list of integers (or of integer tuples) as ONE parameter per column: SQLite reads a JSON
  array with json_each, PostgreSQL unnests bigint arrays. `int_rows` gives the table
  expression and its parameters for either; a batch stays one statement, whatever its size.
  `value_rows` does the same for rows of integers and texts (set-wise inserts and updates).
- the number of rows a statement changed: sqlite3's cursor.rowcount, asyncpg's status text.
- claiming work that several processes share: `FOR UPDATE SKIP LOCKED` (skip_locked).
- waking another process at commit: PostgreSQL's NOTIFY (notify); SQLite has one process.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

DialectName = Literal["sqlite", "postgresql"]
ColumnType = Literal["bigint", "text"]


@dataclass(frozen=True, slots=True)
class Dialect:
    name: DialectName

    @property
    def is_sqlite(self) -> bool:
        return self.name == "sqlite"

    def sql(self, text: str) -> str:
        """The statement as this database takes it: `?` -> `$n` on PostgreSQL (cached)."""
        return text if self.name == "sqlite" else numbered(text)

    def int_rows(
        self, alias: str, columns: Sequence[str], rows: Sequence[Sequence[int]]
    ) -> tuple[str, list[Any]]:
        """A table expression `alias(columns..., n)` holding `rows` (integers), n their
        position (ascending in list order), for a FROM clause; and its parameters, which
        take the expression's place among the statement's `?`s.

        SQLite: one JSON parameter read by json_each. PostgreSQL: one bigint[] per column,
        unnested side by side WITH ORDINALITY. Either way one statement per batch.
        """
        return self.value_rows(alias, [(c, "bigint") for c in columns], rows)

    def value_rows(
        self, alias: str, columns: Sequence[tuple[str, ColumnType]], rows: Sequence[Sequence[Any]]
    ) -> tuple[str, list[Any]]:
        """int_rows for columns of integers and texts (each may be None): `columns` are
        (name, "bigint" or "text"). For set-wise writes: `INSERT ... SELECT ... FROM` it or
        `UPDATE ... FROM` it, one statement for a whole batch where executemany runs the
        statement once per row (on PostgreSQL each run is its own plan execution, trigger
        queue and index probes: about 3x slower than one set-wise statement)."""
        if self.name == "sqlite":
            picked = ", ".join(f"value ->> {i} AS {c}" for i, (c, _) in enumerate(columns))
            return (
                f"(SELECT key AS n, {picked} FROM json_each(?)) AS {alias}",  # noqa: S608
                [json.dumps([list(r) for r in rows], ensure_ascii=False)],
            )
        arrays = ", ".join(f"?::{kind}[]" for _, kind in columns)
        names = ", ".join(c for c, _ in columns)
        return (
            f"unnest({arrays}) WITH ORDINALITY AS {alias}({names}, n)",
            [[r[i] for r in rows] for i in range(len(columns))],
        )

    @property
    def skip_locked(self) -> str:
        """` FOR UPDATE SKIP LOCKED` on PostgreSQL, to end a SELECT of work to claim: rows
        another process is claiming are passed over, not waited for, so two processes never
        take the same item. Nothing on SQLite, where one writer at a time already holds the
        whole database (and the worker processes that claim run only on PostgreSQL)."""
        return "" if self.name == "sqlite" else " FOR UPDATE SKIP LOCKED"

    def notify(self) -> str | None:
        """A statement taking (channel, payload) that PostgreSQL delivers to the sessions
        LISTENing on the channel when the transaction commits (nothing if it rolls back);
        None on SQLite, where one process writes and reads."""
        return None if self.name == "sqlite" else "SELECT pg_notify(?, ?)"

    def same_text(self, column: str) -> str:
        """`column` equals the text given as `?`, by the index its unique key has: the text
        itself on SQLite; on PostgreSQL its SHA-256 (migration 0004 keys digest_texts by
        fw_text_sha256, as a whole digest is too long for a B-tree entry), so the lookup
        probes that index instead of reading the table."""
        if self.name == "sqlite":
            return f"{column} = ?"
        return f"fw_text_sha256({column}) = fw_text_sha256(?)"

    def int_list(self, values: Sequence[int]) -> tuple[str, list[Any]]:
        """`(SELECT value FROM ...)`: the integers as a subquery for `x IN ...`, which
        probes an index once per value on either database."""
        if self.name == "sqlite":  # a flat JSON array: no per-element extraction
            return "(SELECT value FROM json_each(?))", [json.dumps(list(values))]
        return "(SELECT unnest(?::bigint[]))", [list(values)]


SQLITE = Dialect("sqlite")
POSTGRESQL = Dialect("postgresql")


@lru_cache(maxsize=2048)
def numbered(text: str) -> str:
    """`?` -> `$1, $2, ...` outside quoted strings, quoted names and comments."""
    out: list[str] = []
    count = 0
    i, length = 0, len(text)
    while i < length:
        char = text[i]
        if char in "'\"":
            end = text.find(char, i + 1)
            end = length - 1 if end < 0 else end  # '' inside a string: two strings in a row
            out.append(text[i : end + 1])
            i = end + 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            end = length if end < 0 else end
            out.append(text[i:end])
            i = end
        elif char == "?":
            count += 1
            out.append(f"${count}")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def pg_rowcount(status: str) -> int:
    """Rows changed, from asyncpg's command status ('UPDATE 3', 'INSERT 0 1', 'DELETE 0')."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


# --- full-text search (port-search: storage/search.py) ------------------------------------
# SQLite searches FTS5 tables (posts_fts over posts.text, post_lemmas with forms and lemma
# keys), keyed by rowid = post id, ranked by bm25 (`rank`, ascending). PostgreSQL searches
# generated tsvector columns with GIN indexes (posts.search_tsv, post_lemmas.search_tsv:
# migration 0007), ranked by ts_rank (negated: ascending too). A query is FTS5 MATCH
# text on SQLite and tsquery text on PostgreSQL (bot/search_query.py renders both).


@dataclass(frozen=True, slots=True)
class TextIndex:
    """One full-text index as a query reads it, aliased `f`: FROM `table f`, the post id
    `key`, the condition `match` and the ascending score `rank`; each takes the query as its
    one `?`. For posts: `snippet`, the text around the matched words in `top` (ids) joined
    with `snippet_join`, and snippet_params, the parameters of the two in statement order."""

    table: str
    key: str
    match: str
    rank: str
    snippet: str
    snippet_join: str

    def snippet_params(self, query: str, start: str, end: str) -> list[str]:
        return [start, end, query] if self.snippet_join else [query, start, end]


def text_index(
    dialect: Dialect, name: Literal["posts", "post_lemmas"], raw: bool = False
) -> TextIndex:
    """The index of posts' text or of their lemmas. raw: the query is what a user typed
    (FTS5 syntax on SQLite, web-search syntax on PostgreSQL), not a rendered tree."""
    if dialect.is_sqlite:
        fts = "posts_fts" if name == "posts" else "post_lemmas"
        return TextIndex(
            f"{fts} f",
            "f.rowid",
            f"f.{fts} MATCH ?",
            "f.rank",
            "snippet(posts_fts, 0, ?, ?, '…', 16)",
            " JOIN posts_fts ON posts_fts.rowid = top.id AND posts_fts MATCH ?",
        )
    if raw:
        query = "websearch_to_tsquery('simple', fw_fold(?))"
    else:  # the text's index removes Latin accents (as FTS5), the lemma index keeps them
        query = "fw_fold(?)::tsquery" if name == "posts" else "?::tsquery"
    return TextIndex(
        f"{name} f",
        "f.id" if name == "posts" else "f.post_id",
        f"f.search_tsv @@ {query}",
        f"-ts_rank(f.search_tsv, {query}, 1)",
        f"ts_headline('simple', p.text, {query},"
        " 'MaxFragments=1, MaxWords=16, MinWords=12, StartSel=' || ? || ', StopSel=' || ?)",
        "",
    )


def lemma_key_column(dialect: Dialect) -> str:
    """post_lemmas' post id: the FTS5 table's rowid on SQLite, a column on PostgreSQL."""
    return "rowid" if dialect.is_sqlite else "post_id"


def ordered_join(dialect: Dialect) -> str:
    """A join whose left table stays the outer loop: SQLite's CROSS JOIN (which takes an ON
    there); PostgreSQL plans joins itself and has no such form (storage/exports.py)."""
    return "CROSS JOIN" if dialect.is_sqlite else "JOIN"


# --- Analysis (reviews, trends, propagation, near-duplicates) ---------------------------


@dataclass(frozen=True, slots=True)
class ByDay:
    """Rows of a table dated by `column`, each with the index of its day among `days`
    (Dialect.by_day): `... {day} ... FROM left {join} table ON <its keys> AND {within}`,
    the parameters of each part in statement order (day, join, within)."""

    day: str
    join: str
    within: str
    day_params: list[Any]
    join_params: list[Any]
    within_params: list[Any]

    @property
    def params(self) -> list[Any]:
        return [*self.day_params, *self.join_params, *self.within_params]


def by_day(dialect: Dialect, column: str, days: Sequence[tuple[int, int]]) -> ByDay:
    """Which of `days` ([lo, hi) Unix seconds) a row falls on (a row on two overlapping days
    counts on each). SQLite: the days as a table joined by range, the outer loop (CROSS
    JOIN), so each day is one seek of an index on (key, column). PostgreSQL, for consecutive
    days (each hi the next lo, as trends ask): width_bucket over the days' bounds and one
    index range over them all; its planner, joining by a range it cannot estimate, read
    every row once per day instead (365x the work for a year of trends)."""
    consecutive = all(a[1] == b[0] for a, b in itertools.pairwise(days))
    if dialect.is_sqlite or not consecutive or not days:
        table, params = dialect.int_rows(
            "d", ["lo", "hi", "day"], [(lo, hi, i) for i, (lo, hi) in enumerate(days)]
        )
        return ByDay(
            "d.day",
            f"CROSS JOIN {table} {ordered_join(dialect)}",
            f"{column} >= d.lo AND {column} < d.hi",
            [],
            params,
            [],
        )
    bounds = [lo for lo, _ in days] + [days[-1][1]]
    return ByDay(
        f"width_bucket({column}, ?::bigint[]) - 1",
        "JOIN",
        f"{column} >= ? AND {column} < ?",
        [bounds],
        [],
        [bounds[0], bounds[-1]],
    )


def indexed_by(dialect: Dialect, index: str) -> str:
    """` INDEXED BY index` on SQLite, nothing on PostgreSQL (which has no index hints), to
    follow a table name in FROM: SQLite's planner picks a worse index for some of the
    analysis reads (a sort of a million rows) unless told; PostgreSQL's plans by statistics."""
    return f" INDEXED BY {index}" if dialect.is_sqlite else ""
