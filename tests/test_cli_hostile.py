"""Hostile settings, databases and output files: the CLI (a real process) ends with one clear
line and an exit code, never a traceback or a hang, and writes only regular files."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import PROJECT_ROOT, run_framewatch, without_override

DEMO_QUERY = "жест"


def one_line_error(result: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """The run failed with `code` and a single line on stderr that contains `words`."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("framewatch: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    made = run_framewatch("demo", "--db", str(folder / "demo.db"), cwd=folder)
    assert made.returncode == 0, made.stderr
    return folder / "demo.db"


def copy_db(demo_db: Path, folder: Path) -> Path:
    target = folder / "copy.db"
    target.write_bytes(demo_db.read_bytes())
    return target


# --- the database file ----------------------------------------------------------------


@pytest.mark.parametrize("command", [["search", DEMO_QUERY], ["scan"], ["framings", "list"]])
def test_a_corrupt_database_ends_with_one_line_and_the_process_exits(
    tmp_path: Path, command: list[str]
) -> None:
    db = tmp_path / "broken.db"
    db.write_bytes(b"this is no SQLite file " * 500)
    result = run_framewatch(*command, cwd=tmp_path, db=db, timeout=60)
    one_line_error(result, 1, str(db), "damaged", "SQLITE_NOTADB")


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("{tmp}", "is a folder"),
        ("{tmp}/typo/fw.db", "does not exist"),
        ("{tmp}/file.txt/fw.db", "is not a folder"),
    ],
)
def test_a_bad_database_path_is_refused_with_one_line(
    tmp_path: Path, value: str, says: str
) -> None:
    (tmp_path / "file.txt").write_text("x")
    path = value.format(tmp=tmp_path)
    result = run_framewatch("scan", cwd=tmp_path, FRAMEWATCH_DB_PATH=path)
    one_line_error(result, 2, "FRAMEWATCH_DB_PATH", says)
    assert not (tmp_path / "typo").exists()  # a typo is not created silently


def test_the_demo_database_path_is_checked_too(tmp_path: Path) -> None:
    (tmp_path / "folder.db").mkdir()
    for path, says in (("missing/d.db", "does not exist"), ("folder.db", "is a folder")):
        result = run_framewatch("demo", "--db", str(tmp_path / path), cwd=tmp_path)
        one_line_error(result, 2, "--db", says)
    assert (tmp_path / "folder.db").is_dir()


@pytest.fixture
def permissions_apply(tmp_path: Path) -> None:
    """Skip unless a child process obeys file permissions (as root, only if capabilities
    can be dropped)."""
    probe = tmp_path / "probe"
    probe.write_text("")
    probe.chmod(0o444)
    tried = subprocess.run(
        [sys.executable, "-c", f"open({str(probe)!r}, 'a')"],
        preexec_fn=without_override,
        capture_output=True,
        check=False,
    )
    probe.chmod(0o644)
    if tried.returncode == 0:
        pytest.skip("this user writes read-only files (root with CAP_DAC_OVERRIDE)")


@pytest.mark.usefixtures("permissions_apply")
def test_run_on_a_read_only_database_fails_at_once(demo_db: Path, tmp_path: Path) -> None:
    db = copy_db(demo_db, tmp_path)
    db.chmod(0o444)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run_framewatch(
        "run",
        cwd=tmp_path,
        db=db,
        timeout=60,
        preexec_fn=without_override,
        FRAMEWATCH_BOT_TOKEN="123:TEST",
        FRAMEWATCH_API_BASE_URL=f"http://127.0.0.1:{port}/bot",
    )
    assert result.returncode == 1, result.stderr
    assert "cannot be written" in result.stderr and "SQLITE_READONLY" in result.stderr
    assert "cannot reach the Bot API" not in result.stderr  # it stopped before polling
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("permissions_apply")
def test_a_database_in_a_read_only_folder_ends_with_one_line(demo_db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = copy_db(demo_db, folder)
    folder.chmod(0o555)
    try:
        result = run_framewatch(
            "scan", cwd=tmp_path, db=db, timeout=60, preexec_fn=without_override
        )
    finally:
        folder.chmod(0o755)
    one_line_error(result, 2, "FRAMEWATCH_DB_PATH", "cannot be written")


def test_search_on_a_read_only_database_still_reads(demo_db: Path, tmp_path: Path) -> None:
    db = copy_db(demo_db, tmp_path)
    db.chmod(0o444)
    result = run_framewatch("search", DEMO_QUERY, cwd=tmp_path, db=db, preexec_fn=without_override)
    assert result.returncode == 0, result.stderr
    assert "result(s)." in result.stdout


# --- search ---------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["disk", "locked", "busy", "corrupt", "readonly"])
def test_a_query_naming_database_words_is_a_query_problem(demo_db: Path, word: str) -> None:
    # "disk: x" reads as a filter the search does not have: the user's mistake, not the disk's.
    result = run_framewatch("search", f"{word}: x", cwd=demo_db.parent, db=demo_db)
    one_line_error(result, 2, "cannot read the query")


def test_a_long_query_is_called_too_long(demo_db: Path) -> None:
    result = run_framewatch("search", "a" * 501, cwd=demo_db.parent, db=demo_db)
    one_line_error(result, 2, "too long (501 characters; at most 500)")


def test_search_limit_takes_ascii_digits_only(demo_db: Path) -> None:
    result = run_framewatch("search", DEMO_QUERY, "--limit", "١٠", cwd=demo_db.parent, db=demo_db)
    assert result.returncode == 2 and "not a number" in result.stderr


# --- settings -------------------------------------------------------------------------


def test_an_env_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"FRAMEWATCH_TIMEZONE=Europe/Kyiv\nX=\xff\xfe\n")
    one_line_error(run_framewatch("scan", cwd=tmp_path), 2, ".env", "UTF-8")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FRAMEWATCH_TIMEZONE", "Europe"),  # a folder of zones: IsADirectoryError inside
        ("FRAMEWATCH_ADMIN_IDS", "²²²"),
        ("FRAMEWATCH_DIGEST_TIME", "²:00"),
    ],
)
def test_settings_that_crashed_the_parser(tmp_path: Path, variable: str, value: str) -> None:
    one_line_error(run_framewatch("scan", cwd=tmp_path, **{variable: value}), 2, variable)


# --- output ---------------------------------------------------------------------------


def test_a_closed_pipe_ends_quietly(demo_db: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    env.update(PYTHONPATH=str(PROJECT_ROOT), FRAMEWATCH_DB_PATH=str(demo_db))
    for command in (["framings", "list"], ["search", DEMO_QUERY], ["export", "posts"]):
        child = subprocess.Popen(
            [sys.executable, "-m", "bot", *command],
            cwd=demo_db.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert child.stdout is not None and child.stderr is not None
        child.stdout.close()  # `| head` that has read enough
        errors = child.stderr.read().decode()
        child.stderr.close()
        assert child.wait(timeout=60) == 0, (command, errors)
        assert errors == "" or ("Traceback" not in errors and "Exception" not in errors)


def test_export_since_out_of_range_is_one_line(demo_db: Path) -> None:
    result = run_framewatch(
        "export", "posts", "--since", "9999-12-31T23:59:59-23:59", cwd=demo_db.parent, db=demo_db
    )
    one_line_error(result, 2, "--since", "out of range")


def test_a_full_disk_names_standard_output(demo_db: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    env.update(PYTHONPATH=str(PROJECT_ROOT), FRAMEWATCH_DB_PATH=str(demo_db))
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "export", "posts"],
            cwd=demo_db.parent,
            env=env,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    one_line_error(result, 2, "cannot write standard output", "No space left")
    assert "None" not in result.stderr


def special_files(tmp_path: Path) -> dict[str, Path]:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me")
    link = tmp_path / "link.jsonl"
    link.symlink_to(elsewhere)
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    found = {"symlink": link, "fifo": fifo, "folder": folder}
    if os.geteuid() == 0:
        device = tmp_path / "null.jsonl"
        try:
            os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # as /dev/null
            found["device"] = device
        except PermissionError:
            pass  # a container without CAP_MKNOD: the other kinds still run
    return found


def test_export_output_refuses_anything_but_a_regular_file(demo_db: Path, tmp_path: Path) -> None:
    targets = special_files(tmp_path)
    kinds = {path: path.lstat().st_mode for path in targets.values()}
    for kind, path in targets.items():
        for command in (
            ["export", "posts", "--output", str(path)],
            ["framings", "export", str(path)],
        ):
            result = run_framewatch(*command, cwd=tmp_path, db=demo_db, timeout=60)
            one_line_error(result, 2, str(path))
            assert path.lstat().st_mode == kinds[path], kind  # still what it was
    assert (tmp_path / "elsewhere.txt").read_text() == "keep me"
    assert not [p.name for p in tmp_path.iterdir() if "part" in p.name]


def test_export_output_replaces_a_regular_file_and_keeps_its_mode(
    demo_db: Path, tmp_path: Path
) -> None:
    target = tmp_path / "posts.jsonl"
    target.write_text("old")
    target.chmod(0o640)
    result = run_framewatch("export", "posts", "--output", str(target), cwd=tmp_path, db=demo_db)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert all(json.loads(line)["text"] for line in target.read_text().splitlines())
