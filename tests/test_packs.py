"""Framing packs: `framewatch framings import|export|list` as real subprocesses, the round
trip, bad packs that import nothing, and the shipped default pack."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from bot.framings import PackError, default_pack_path, parse_pack, read_pack, toml_string
from tests.cli import run_framewatch

PROJECT_ROOT = Path(__file__).resolve().parent.parent

GOOD_PACK = """
[[framing]]
slug = "feint"
title = "Retreat as a feint"
description = "From the CCD statement."
terms = ["tactical feint", "обманный манёвр"]

[[framing]]
slug = "kyiv-regime"
title = "Kyiv regime"
terms = ["киевский режим"]
"""


def framewatch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m bot ...` in cwd with a clean environment and the database in cwd."""
    return run_framewatch(*args, cwd=cwd)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def stored(cwd: Path) -> list[tuple[str, str, str, str]]:
    """(slug, title, description, term) of every stored term, in order."""
    path = cwd / "framewatch.db"
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT f.slug, f.title, f.description, coalesce(t.text, '') FROM framings f"
            " LEFT JOIN terms t ON t.framing_id = f.id ORDER BY f.slug, t.id"
        ).fetchall()
        conn.commit()
    return [tuple(r) for r in rows]


def rules_version(cwd: Path) -> int:
    with sqlite3.connect(cwd / "framewatch.db") as conn:
        (version,) = conn.execute("SELECT coalesce(max(version), 0) FROM rule_changes").fetchone()
    return int(version)


# --- import --------------------------------------------------------------------------------


def test_import_adds_framings_and_reports_what_changed(tmp_path: Path) -> None:
    result = framewatch(
        "framings", "import", str(write(tmp_path, "p.toml", GOOD_PACK)), cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:3] == [
        "Imported p.toml: 2 of 2 framings changed (rules version 1).",
        "  feint: new framing, 2 terms added",
        "  kyiv-regime: new framing, 1 terms added",
    ]
    assert stored(tmp_path) == [
        ("feint", "Retreat as a feint", "From the CCD statement.", "tactical feint"),
        ("feint", "Retreat as a feint", "From the CCD statement.", "обманный манёвр"),
        ("kyiv-regime", "Kyiv regime", "", "киевский режим"),
    ]
    listing = framewatch("framings", "list", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines()[0] == "2 framings · rules version 1"
    assert "feint" in listing.stdout and "2 terms" in listing.stdout
    assert "rescanning" not in listing.stdout  # no posts stored: nothing to rescan


def test_reimport_updates_titles_adds_terms_and_keeps_the_others(tmp_path: Path) -> None:
    framewatch("framings", "import", str(write(tmp_path, "p.toml", GOOD_PACK)), cwd=tmp_path)
    updated = write(
        tmp_path,
        "p2.toml",
        '[[framing]]\nslug = "feint"\ntitle = "A feint"\n'
        'terms = ["Tactical  Feint", "military feint"]\n',
    )

    result = framewatch("framings", "import", str(updated), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Imported p2.toml: 1 of 1 framings changed (rules version 2)."
    assert lines[1] == (
        "  feint: title updated, 1 terms added, 1 terms already there, "
        "1 terms not in the pack kept: “обманный манёвр”"
    )
    assert "Terms a framing has and the pack does not list are kept" in result.stdout
    assert [row[3] for row in stored(tmp_path) if row[0] == "feint"] == [
        "tactical feint",
        "обманный манёвр",
        "military feint",
    ]
    assert {row[1] for row in stored(tmp_path) if row[0] == "feint"} == {"A feint"}
    assert ("feint", "A feint", "From the CCD statement.", "military feint") in stored(tmp_path)
    again = framewatch("framings", "import", str(updated), cwd=tmp_path)
    assert again.stdout.splitlines()[:2] == [
        "Imported p2.toml: 0 of 1 framings changed.",
        "  feint: unchanged (2 terms already there, "
        "1 terms not in the pack kept: “обманный манёвр”)",
    ]
    assert rules_version(tmp_path) == 2


# (pack text, what the error says, whether good framings may follow it in the same file)
BAD_PACKS = {
    "bad slug": (
        '[[framing]]\nslug = "Goodwill Gesture"\nterms = ["x y"]\n',
        "framing #1: 'Goodwill Gesture' is not a valid framing name",
        True,
    ),
    "bad term with its position": (
        '[[framing]]\nslug = "withdrawal"\nterms = ["organized withdrawal", "жест AND"]\n',
        "withdrawal, term 'жест AND': AND at position 6",
        True,
    ),
    "malformed TOML": (
        '[[framing]]\nslug = "withdrawal"\nterms = ["a" "b"]\n',
        "malformed TOML: line 3, column 14:",
        True,
    ),
    "unclosed list": (
        '[[framing]]\nslug = "withdrawal"\nterms = ["a",\n',
        "malformed TOML: at the end of the file: Invalid value",
        False,
    ),
    "empty file": ("", "no [[framing]] tables", False),
    "slug not a string": ("[[framing]]\nslug = 5\n", "framing #1: slug must be a string", True),
    "terms not a list": (
        '[[framing]]\nslug = "withdrawal"\nterms = "organized withdrawal"\n',
        "withdrawal: terms must be a list of strings",
        True,
    ),
    "term not a string": (
        '[[framing]]\nslug = "withdrawal"\nterms = ["a b", 7]\n',
        "withdrawal, term #2: must be a string, not 7",
        True,
    ),
    "title not a string": (
        '[[framing]]\nslug = "withdrawal"\ntitle = ["x"]\nterms = ["a b"]\n',
        "withdrawal: title must be a string",
        True,
    ),
    "misspelt key": (
        '[[framing]]\nslug = "withdrawal"\nterm = ["a b"]\n',
        "withdrawal: unknown key 'term' (a framing has slug, title, description, terms)",
        True,
    ),
    "framing not a table list": ('framing = "withdrawal"\n', "no [[framing]] tables", False),
    "duplicate slug": (
        '[[framing]]\nslug = "withdrawal"\n[[framing]]\nslug = "withdrawal"\n',
        "framing #2 (withdrawal): the slug is also used by framing #1",
        True,
    ),
    "empty term": (
        '[[framing]]\nslug = "withdrawal"\nterms = ["  "]\n',
        "withdrawal, term '  ':",
        True,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_PACKS))
def test_a_bad_pack_imports_nothing_and_says_why(tmp_path: Path, case: str) -> None:
    text, says, good_may_follow = BAD_PACKS[case]
    # Good framings after the bad one: they must not be imported either.
    pack = write(tmp_path, "bad.toml", text + GOOD_PACK if good_may_follow else text)
    framewatch("framings", "list", cwd=tmp_path)  # creates the database, empty

    result = framewatch("framings", "import", str(pack), cwd=tmp_path)

    assert result.returncode == 2, result.stdout
    assert "nothing was imported" in result.stderr
    assert says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert stored(tmp_path) == []
    assert rules_version(tmp_path) == 0


def test_every_problem_of_a_pack_is_reported_at_once() -> None:
    text = (
        '[[framing]]\nslug = "BAD"\nterms = ["a b"]\n'
        '[[framing]]\nslug = "ok"\nterms = ["fine", 3, "жест AND"]\n'
    )
    with pytest.raises(PackError) as raised:
        parse_pack(text, "p.toml")
    problems = raised.value.problems
    assert len(problems) == 3
    assert problems[0].startswith("framing #1: 'BAD' is not a valid framing name")
    assert problems[1] == "ok, term #2: must be a string, not 3"
    assert problems[2].startswith("ok, term 'жест AND': ")
    assert str(raised.value).startswith("p.toml: 3 problems, nothing was imported:")


def test_missing_pack_file(tmp_path: Path) -> None:
    result = framewatch("framings", "import", "nowhere.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert "nowhere.toml: 1 problem, nothing was imported" in result.stderr
    assert "cannot read the file" in result.stderr


def test_a_framing_over_the_term_limit_imports_nothing(tmp_path: Path) -> None:
    terms = ", ".join(f'"term number {i}"' for i in range(500))
    full = write(tmp_path, "full.toml", f'[[framing]]\nslug = "big"\nterms = [{terms}]\n')
    assert framewatch("framings", "import", str(full), cwd=tmp_path).returncode == 0
    more = write(
        tmp_path,
        "more.toml",
        '[[framing]]\nslug = "new-one"\nterms = ["x y"]\n'
        '[[framing]]\nslug = "big"\nterms = ["one more term"]\n',
    )

    result = framewatch("framings", "import", str(more), cwd=tmp_path)

    assert result.returncode == 2
    assert "framing big would have 501 terms, more than the 500 allowed" in result.stderr
    assert "nothing was imported" in result.stderr
    assert {row[0] for row in stored(tmp_path)} == {"big"}
    assert rules_version(tmp_path) == 1


# --- export and the round trip ---------------------------------------------------------------

TRICKY_PACK = r"""
[[framing]]
slug = "tricky"
title = "Quotes \"inside\", a backslash \\ and ґ є ї — 🇺🇦"
description = "Two lines:\nfirst\tand second; a control \u0001 character."
terms = [
    '"жест доброй воли"',
    're:\bСВО\b',
    'NEAR/5(ввели в заблуждение, президент)',
    "київський режим AND NOT (режим роботи)",
    "денацифи*",
    "Zelensky's regime",
]

[[framing]]
slug = "empty"
title = "No terms yet"
terms = []
"""


def test_export_then_import_changes_nothing(tmp_path: Path) -> None:
    pack = write(tmp_path, "tricky.toml", TRICKY_PACK)
    assert framewatch("framings", "import", str(pack), cwd=tmp_path).returncode == 0
    before = stored(tmp_path)

    exported = framewatch("framings", "export", "out.toml", cwd=tmp_path)

    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == "Exported 2 framings with 6 terms to out.toml.\n"
    text = (tmp_path / "out.toml").read_text(encoding="utf-8")
    assert "\\u0001" in text and '\\"inside\\"' in text and "ґ є ї — 🇺🇦" in text
    reimport = framewatch("framings", "import", "out.toml", cwd=tmp_path)
    assert reimport.returncode == 0, reimport.stderr
    assert reimport.stdout.startswith("Imported out.toml: 0 of 2 framings changed.\n")
    assert stored(tmp_path) == before
    assert rules_version(tmp_path) == 1

    # Into a fresh database: the same framings, and the same export.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert framewatch("framings", "import", str(tmp_path / "out.toml"), cwd=fresh).returncode == 0
    assert stored(fresh) == before
    assert framewatch("framings", "export", "again.toml", cwd=fresh).returncode == 0
    body = text.split("\n", 2)[2]  # after the two header lines (date, rules version)
    assert (fresh / "again.toml").read_text(encoding="utf-8").split("\n", 2)[2] == body
    title = 'Quotes "inside", a backslash \\ and ґ є ї — 🇺🇦'
    assert stored(fresh)[1][1] == title


def test_export_to_stdout_and_to_a_bad_path(tmp_path: Path) -> None:
    framewatch("framings", "import", str(write(tmp_path, "p.toml", GOOD_PACK)), cwd=tmp_path)

    out = framewatch("framings", "export", "-", cwd=tmp_path)
    bad = framewatch("framings", "export", str(tmp_path / "no" / "such" / "dir.toml"), cwd=tmp_path)

    assert out.returncode == 0
    assert [f.slug for f in parse_pack(out.stdout, "stdout")] == ["feint", "kyiv-regime"]
    assert bad.returncode == 2
    assert "cannot write" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    "value",
    ["plain", 'a "quote"', "back\\slash", "tab\there", "new\nline", "\x7f\x00\x1f", "ґ 🇺🇦 ʼ"],
)
def test_toml_string_reads_back_as_written(value: str) -> None:
    import tomllib

    assert tomllib.loads(f"v = {toml_string(value)}")["v"] == value


# --- the default pack ---------------------------------------------------------------------------

DEFAULT_SLUGS = {
    "goodwill-gesture",
    "organized-withdrawal",
    "feint",
    "blame-advisers",
    "special-military-operation",
    "kyiv-regime",
    "denazification",
    "nato-fighting-russia",
    "us-biolabs",
}


def language_of(term: str) -> str:
    letters = {c for c in term.lower() if c.isalpha()}
    if letters & set("іїєґ"):
        return "uk"
    if any("а" <= c <= "я" or c == "ё" for c in letters):
        return "ru"
    return "en"


def test_default_pack_has_every_framing_in_three_languages() -> None:
    pack = read_pack(default_pack_path())  # every term parses in the term language

    assert {f.slug for f in pack} == DEFAULT_SLUGS
    for framing in pack:
        assert framing.title and framing.description, framing.slug
        languages = {language_of(text) for text, _ in framing.terms}
        assert languages == {"ru", "uk", "en"}, framing.slug
    assert sum(len(f.terms) for f in pack) < 120  # inflections are no longer listed one by one
