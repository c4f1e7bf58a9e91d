"""`framewatch import` as a real subprocess: summary, exit codes, one-line errors, and the
progress bar (only on a terminal)."""

from __future__ import annotations

import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import run_framewatch

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "exports"


def cli_env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        PYTHONIOENCODING="utf-8",
        FRAMEWATCH_DB_PATH=str(db),
        FRAMEWATCH_TIMEZONE="Europe/Kyiv",
    )
    return env


def framewatch(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return run_framewatch(*args, cwd=db.parent, db=db, FRAMEWATCH_TIMEZONE="Europe/Kyiv")


def count_posts(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])


def test_import_prints_the_counts_and_imports_again_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "fw.db"
    first = framewatch("import", str(FIXTURES / "new_format.json"), db=db)

    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # no progress bar when stderr is not a terminal
    assert "9 messages read, 1 chat(s) with posts" in first.stdout
    assert "new 7, updated (edited) 0, unchanged 0, older than the stored version 0" in first.stdout
    assert "skipped 2: service message" in first.stdout
    assert "public_channel 'Вечерний эфир' (-1001500000001): 7 posts" in first.stdout
    assert "--username NAME" in first.stdout  # a public channel without its username

    again = framewatch(
        "import", str(FIXTURES / "new_format.json"), "--username", "@vecherny", db=db
    )
    assert again.returncode == 0, again.stderr
    assert "new 0, updated (edited) 0, unchanged 7" in again.stdout
    assert "--username NAME" not in again.stdout
    assert count_posts(db) == 7


def test_old_export_reports_its_local_dates_and_the_zone_used(tmp_path: Path) -> None:
    db = tmp_path / "fw.db"
    result = framewatch("import", str(FIXTURES / "old_format.json"), db=db)
    assert result.returncode == 0, result.stderr
    assert "4 message(s) had dates without a time zone" in result.stdout
    assert "read as Europe/Kyiv time" in result.stdout

    other = tmp_path / "other.db"
    result = framewatch(
        "import", str(FIXTURES / "old_format.json"), "--timezone", "Asia/Tokyo", db=other
    )
    assert "read as Asia/Tokyo time" in result.stdout
    with sqlite3.connect(db) as kyiv, sqlite3.connect(other) as tokyo:
        sql = "SELECT posted_at FROM posts WHERE message_id = 2"
        assert kyiv.execute(sql).fetchone()[0] - tokyo.execute(sql).fetchone()[0] == 7 * 3600


def test_broken_json_exits_2_with_the_position_and_keeps_the_posts(tmp_path: Path) -> None:
    db = tmp_path / "fw.db"
    result = framewatch("import", str(FIXTURES / "broken_midway.json"), db=db)

    assert result.returncode == 2
    assert "new 5," in result.stdout
    error = result.stderr.strip()
    assert len(error.splitlines()) == 1 and "Traceback" not in error
    assert error.startswith("framewatch: ") and "(line 11)" in error
    assert "fix or re-export the file and import it again" in error
    assert count_posts(db) == 5


def test_bad_messages_are_listed_and_the_import_succeeds(tmp_path: Path) -> None:
    result = framewatch("import", str(FIXTURES / "bad_messages.json"), db=tmp_path / "fw.db")
    assert result.returncode == 0, result.stderr
    assert "new 2," in result.stdout
    assert "! message 3 in Bad messages: text is neither a string nor a list" in result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["nowhere.json"], "no such file; give the result.json"),
        ([str(FIXTURES / "new_format.json"), "--username", "no way"], "not a channel username"),
        ([str(FIXTURES / "new_format.json"), "--timezone", "Mars/Base"], "not a time zone"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_no_database(
    tmp_path: Path, args: list[str], says: str
) -> None:
    db = tmp_path / "fw.db"
    result = framewatch("import", *args, db=db)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and says in result.stderr
    assert not db.exists()


def test_username_with_a_full_account_export_exits_2(tmp_path: Path) -> None:
    db = tmp_path / "fw.db"
    result = framewatch(
        "import", str(FIXTURES / "full_account.json"), "--username", "channel_a", db=db
    )
    assert result.returncode == 2
    assert "full-account export" in result.stderr
    assert count_posts(db) == 0


def on_a_terminal(*args: str, db: Path, cwd: Path) -> tuple[int, bytes, bytes]:
    """Run framewatch with stderr on a pseudo-terminal: (exit code, stdout, what the
    terminal showed)."""
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=cwd,
            env=cli_env(db),
            stdout=subprocess.PIPE,
            stderr=terminal,
            timeout=120,
            check=False,
        )
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal's other end is closed: all was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    return result.returncode, result.stdout, shown


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    db = tmp_path / "fw.db"
    code, stdout, shown = on_a_terminal(
        "import", str(FIXTURES / "new_format.json"), db=db, cwd=tmp_path
    )
    assert code == 0
    assert b"importing " in shown and b"100%" in shown
    assert b"4.7/4.7 kB" in shown and b"0:00:00" in shown  # amount and time left (rich)
    assert b"importing" not in stdout


def test_scan_and_export_draw_their_progress_on_a_terminal(tmp_path: Path) -> None:
    db = tmp_path / "fw.db"
    assert framewatch("import", str(FIXTURES / "new_format.json"), db=db).returncode == 0
    posts = count_posts(db)
    code, stdout, shown = on_a_terminal("scan", db=db, cwd=tmp_path)
    assert code == 0 and b"Scanned" in stdout
    assert b"scanning" in shown and f"{posts}/{posts}".encode() in shown
    assert b"scanning" not in stdout  # bars go to the terminal, results to stdout
    code, stdout, shown = on_a_terminal("index", db=db, cwd=tmp_path)
    assert code == 0 and stdout.startswith(f"Indexed {posts} posts for search".encode())
    assert b"indexing" in shown and b"lemmatising" in shown and b"100%" in shown
    assert b"indexing" not in stdout
    code, stdout, shown = on_a_terminal("export", "posts", "--format", "jsonl", db=db, cwd=tmp_path)
    assert code == 0 and stdout.count(b"\n") == posts
    assert b"exporting posts" in shown and f"{posts}/{posts}".encode() in shown
