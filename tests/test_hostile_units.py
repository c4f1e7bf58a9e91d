"""The rules behind the hostile-input fixes, one by one: terminal cleaning, SQLite errors
by result code, ASCII numbers, slugs, pack bounds, and the bot's replies."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from bot.framings import MAX_PACK_BYTES, FramingError, PackError, check_slug, parse_pack, read_pack
from bot.outfile import OutputError, atomic_text_file
from bot.terminal import clean
from storage.db import Database
from storage.errors import Failure, classify, describe
from storage.numbers import ascii_int
from storage.search import QuerySyntaxError, QueryTooLongError, SearchRepository
from tests.conftest import ADMIN, ANALYST, Harness

ESC = "\x1b"


@pytest.mark.parametrize(
    ("text", "one_line", "multi_line"),
    [
        (f"a{ESC}[2Jb", "ab", "ab"),
        (f"a{ESC}[1;31mred{ESC}[0m", "ared", "ared"),
        (f"link {ESC}]8;;http://evil\x07here{ESC}]8;;\x07", "link here", "link here"),
        (f"osc {ESC}]0;title{ESC}\\done", "osc done", "osc done"),
        ("nul\x00bell\x07cr\rdel\x7f", "nulbellcrdel", "nulbellcrdel"),
        ("c1 \x9b31mred \x85x", "c1 red x", "c1 red x"),
        ("two\nlines\tand tab", "two lines and tab", "two\nlines\tand tab"),
        ("surrogate \ud800 gone", "surrogate  gone", "surrogate  gone"),
        ("bidi \u202eevil\u202c", "bidi evil", "bidi evil"),
        ("жест доброй воли «ok» — ✓", "жест доброй воли «ok» — ✓", "жест доброй воли «ok» — ✓"),
    ],
)
def test_clean_strips_controls_and_escape_sequences(
    text: str, one_line: str, multi_line: str
) -> None:
    assert clean(text) == one_line
    assert clean(text, multiline=True) == multi_line


def real_error(tmp_path: Path, failure: str) -> sqlite3.Error:
    """A real SQLite error of each kind, from real files."""
    path = tmp_path / "t.db"
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t (x TEXT)")
    try:
        if failure == "full":
            with sqlite3.connect(path, isolation_level=None) as conn:
                pages = conn.execute("PRAGMA page_count").fetchone()[0]
                conn.execute(f"PRAGMA max_page_count = {pages}")
                conn.execute("INSERT INTO t VALUES (?)", ("x" * 100_000,))
        elif failure == "busy":
            holder = sqlite3.connect(path, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            try:
                sqlite3.connect(path, timeout=0, isolation_level=None).execute("BEGIN IMMEDIATE")
            finally:
                holder.close()
        elif failure == "read-only":
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                conn.execute("INSERT INTO t VALUES ('x')")
        elif failure == "corrupt":
            bad = tmp_path / "bad.db"
            bad.write_bytes(b"not a database, not at all" * 200)
            sqlite3.connect(bad).execute("SELECT * FROM sqlite_master")
        elif failure == "cannot open":
            sqlite3.connect(tmp_path / "missing" / "x.db")
        else:
            sqlite3.connect(path).execute("SELEC disk locked busy corrupt")
    except sqlite3.Error as exc:
        return exc
    raise AssertionError(f"no {failure} error")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("full", Failure.FULL),
        ("busy", Failure.BUSY),
        ("read-only", Failure.READ_ONLY),
        ("corrupt", Failure.CORRUPT),
        ("cannot open", Failure.UNREACHABLE),
        ("sql", Failure.SQL),  # whose message is full of database words
    ],
)
def test_sqlite_errors_are_classified_by_their_code(
    tmp_path: Path, kind: str, expected: Failure
) -> None:
    error = real_error(tmp_path, kind)
    assert classify(error) is expected
    line = describe(error, "fw.db")
    assert line.startswith("database fw.db: ") and "\n" not in line
    assert (error.sqlite_errorname or "") in line


@pytest.mark.parametrize("word", ["disk", "locked", "busy", "corrupt", "readonly", "i/o"])
async def test_a_query_with_database_words_is_a_query_error(db: Database, word: str) -> None:
    with pytest.raises(QuerySyntaxError):
        await SearchRepository(db).search(f"{word}: x")  # "no such column: disk"
    assert await SearchRepository(db).search(f'"{word}"') == []  # a phrase finds nothing


async def test_a_long_query_is_too_long_not_unreadable(db: Database) -> None:
    with pytest.raises(QueryTooLongError, match=r"too long \(501 characters; at most 500\)"):
        await SearchRepository(db).search("a" * 501)


@pytest.mark.parametrize(
    ("text", "signed", "number"),
    [
        ("123", False, 123),
        ("-5", True, -5),
        ("-5", False, None),
        ("²²²", False, None),
        ("١٢٣", False, None),
        ("１２", False, None),
        ("12 ", False, None),
        ("", False, None),
        ("9" * 19, False, None),
    ],
)
def test_numbers_are_ascii_digits_only(text: str, signed: bool, number: int | None) -> None:
    assert ascii_int(text, signed=signed) == number


def test_a_slug_with_a_trailing_newline_is_refused() -> None:
    assert check_slug("goodwill-gesture") == "goodwill-gesture"
    for slug in ("evil\n", "evil\r\n", "\nevil"):
        with pytest.raises(FramingError):
            check_slug(slug)


def test_a_deeply_nested_pack_is_one_problem_not_a_recursion_error() -> None:
    text = "a = " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(PackError, match="nested 5000 deep"):
        parse_pack(text, "deep.toml")
    with pytest.raises(PackError, match="nested 5000 deep"):
        parse_pack("x = " + "{a = " * 5000 + "1" + "}" * 5000, "deep.toml")
    inside = '[[framing]]\nslug = "a"\ntitle = "' + "[" * 5000 + '"\nterms = ["b"]\n'
    assert parse_pack(inside, "fine.toml")[0].title == "[" * 5000  # brackets in a string


def test_a_pack_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * MAX_PACK_BYTES + "\n")
    with pytest.raises(PackError, match="larger than 4 MB"):
        read_pack(big)


def test_an_output_file_is_never_a_symlink_target(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    with pytest.raises(OutputError, match="symbolic link"), atomic_text_file(link) as out:
        out.write("overwritten")
    assert victim.read_text() == "keep" and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "victim"]


async def test_grant_with_superscript_digits_gets_the_usage(harness: Harness) -> None:
    for text in ("/grant ²²² moderator", "/grant ١٢٣ analyst", "/revoke ²"):
        replies = await harness.command(ADMIN, text)
        assert len(replies) == 1 and "Usage: /" in replies[0], replies
    assert await harness.services.roles.all() == []


async def test_search_in_the_bot_says_too_long(harness: Harness) -> None:
    await harness.grant_roles()
    replies = await harness.command(ANALYST, "/search " + "a" * 501)
    assert replies == ["That search is too long (501 characters; at most 500): shorten it."]
    replies = await harness.command(ANALYST, "/search disk: x")
    assert "could not read the search" in replies[0]


def test_a_pack_path_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "pack.toml"
    os.mkfifo(fifo)
    with pytest.raises(PackError, match="not a regular file"):
        read_pack(fifo)
