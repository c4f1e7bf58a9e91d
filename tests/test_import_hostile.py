"""Hostile export files and what the CLI prints of them: bounded memory, one clear line,
no escape sequence on the terminal, no formula in a CSV cell, Ctrl-C reported."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import resource
import sqlite3
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest

from bot.commands.importer import _import
from bot.config import Settings
from bot.sources.export import ExportError, ExportReader, open_export
from bot.sources.json_bounds import BoundedReader, BoundsError
from tests.cli import run_framewatch

ESC = "\x1b"
HOSTILE_TITLE = f"Evil{ESC}[2J{ESC}]8;;http://x\x07title\x00"
HOSTILE_TEXT = f"clearme {ESC}[2J{ESC}[31mred\x9b31m plain"


def channel(messages: list[Any], name: str = "Channel", chat_id: int = 77) -> dict[str, Any]:
    return {"name": name, "type": "public_channel", "id": chat_id, "messages": messages}


def message(message_id: int, text: str, unixtime: str = "1700000000") -> dict[str, Any]:
    return {"id": message_id, "type": "message", "date_unixtime": unixtime, "text": text}


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def posts_in(db: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(db) as conn:
        try:
            return [(r[0], r[1]) for r in conn.execute("SELECT message_id, text FROM posts")]
        except sqlite3.OperationalError:  # no table yet: the import is still migrating
            return []


def limit_memory() -> None:
    """preexec_fn: 1.5 GB of address space, so a parser that grows without bound fails
    in the child (MemoryError) instead of taking the machine's memory."""
    resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("layout", "says"),
    [
        ('{"name":"x","type":"public_channel","id":1,"messages":[%s]}',
         "nested deeper than 64 levels"),
        ('{"chats":{"list":[{"name":"x","type":"public_channel","id":1,"messages":[%s]}]}}',
         "nested deeper than 64 levels"),
        ('{"name":"x","type":"public_channel","id":1,"messages":[{"id":1,"x":"%s"}]}',
         "a text is longer than 1000 KB"),
        ('{"name":"x","type":"public_channel","id":1,"messages":[{"id":1,"x":[%s]}]}',
         "a message is larger than 1000 KB"),
    ],
)  # fmt: skip
def test_an_export_beyond_the_bounds_is_refused_in_little_memory(
    tmp_path: Path, layout: str, says: str
) -> None:
    filler = {
        "nested deeper than 64 levels": nested(40_000),  # 80 KB: it took 2.8 GB
        "a text is longer than 1000 KB": "a" * 3_000_000,
        "a message is larger than 1000 KB": ",".join(["[]"] * 800_000),
    }[says]
    path = tmp_path / "hostile.json"
    path.write_text(layout % filler)
    result = run_framewatch("import", str(path), cwd=tmp_path, timeout=120, preexec_fn=limit_memory)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert f"{path}: {says} at byte " in result.stderr
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 1_000_000  # KB


def test_an_ordinary_export_with_deep_text_entities_still_imports(tmp_path: Path) -> None:
    entities = [{"type": "bold", "text": "[[[[{{{{ not nesting"}, " plain [x] {y}"]
    path = write(tmp_path / "ok.json", channel([{**message(1, ""), "text": entities}]))
    result = run_framewatch("import", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert posts_in(tmp_path / "framewatch.db") == [(1, "[[[[{{{{ not nesting plain [x] {y}")]


def test_an_out_of_range_date_skips_that_message_and_keeps_the_batch(tmp_path: Path) -> None:
    messages = [
        message(1, "too late", "99999999999999"),
        message(2, "kept"),
        message(3, "superscript", "1²"),
        {**message(4, "local far"), "date_unixtime": None, "date": "0001-01-01T00:00:00"},
    ]
    path = write(tmp_path / "dates.json", channel(messages))
    result = run_framewatch("import", str(path), cwd=tmp_path, FRAMEWATCH_TIMEZONE="Asia/Tokyo")
    assert result.returncode == 0, result.stderr
    assert "skipped 3: missing or invalid date" in result.stdout
    assert posts_in(tmp_path / "framewatch.db") == [(2, "kept")]


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "result.json"
    os.mkfifo(fifo)
    result = run_framewatch("import", str(tmp_path), cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"framewatch: {fifo}: not a regular file; give an " + (
        "export's result.json"
    )


def test_a_read_error_is_one_line(tmp_path: Path) -> None:
    if not Path("/proc/self/mem").exists():
        pytest.skip("no /proc here")
    result = run_framewatch("import", "/proc/self/mem", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "framewatch: /proc/self/mem: cannot read it (Input/output error)" in result.stderr
    assert "Traceback" not in result.stderr


# --- what reaches the terminal ---------------------------------------------------------


@pytest.fixture
def hostile_db(tmp_path: Path) -> Path:
    messages = [message(1, HOSTILE_TEXT), message(2, '=HYPERLINK("http://x","y")')]
    path = write(tmp_path / "esc.json", channel(messages, name=HOSTILE_TITLE))
    imported = run_framewatch("import", str(path), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert ESC not in imported.stdout and "\x00" not in imported.stdout
    assert "Evil" in imported.stdout
    return tmp_path / "framewatch.db"


def test_search_output_has_no_escape_sequences(hostile_db: Path) -> None:
    result = run_framewatch("search", "clearme", cwd=hostile_db.parent, db=hostile_db)
    assert result.returncode == 0, result.stderr
    assert "[clearme] red plain" in result.stdout
    assert ESC not in result.stdout and "\x9b" not in result.stdout


def test_csv_cells_that_start_like_a_formula_are_text(hostile_db: Path) -> None:
    result = run_framewatch(
        "export", "posts", "--format", "csv", cwd=hostile_db.parent, db=hostile_db
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["text"] for r in rows][1] == '\'=HYPERLINK("http://x","y")'
    exact = run_framewatch("export", "posts", cwd=hostile_db.parent, db=hostile_db)
    texts = [json.loads(line)["text"] for line in exact.stdout.splitlines()]
    assert texts == [HOSTILE_TEXT, '=HYPERLINK("http://x","y")']  # JSON Lines stay exact


# --- Ctrl-C ----------------------------------------------------------------------------


async def test_ctrl_c_during_an_import_says_what_was_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # asyncio.run turns Ctrl-C into cancelling the command's task: do that between batches.
    path = write(tmp_path / "many.json", channel([message(i, f"post {i}") for i in range(1, 6001)]))
    db = tmp_path / "fw.db"
    settings = Settings(_env_file=None, db_path=str(db))  # type: ignore[call-arg]
    args = Namespace(path=str(path), username=None, timezone=None)
    task = asyncio.create_task(_import(settings, args))
    stored = 0
    while stored == 0 and not task.done():
        await asyncio.sleep(0)  # a turn of the loop, not a wait: the import runs meanwhile
        stored = len(posts_in(db)) if db.exists() else 0
    task.cancel()
    assert await task == 130
    stored = len(posts_in(db))
    assert 0 < stored < 6000
    err = capsys.readouterr().err
    assert f"interrupted: {stored} new posts were stored (committed)" in err
    assert "Run the same import again to continue" in err


def read_all(path: Path, chunk: int) -> None:
    with open_export(path) as source:
        reader = BoundedReader(source)
        while reader.read(chunk):
            pass


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 65536])
def test_the_bounds_hold_across_any_chunk_boundary(tmp_path: Path, chunk: int) -> None:
    # Brackets, quotes and backslashes inside strings are text, wherever a chunk ends.
    tricky = ['[[[[{{{{ \\"quoted\\" \\\\', ']]]] back\\\\slash \\\\\\" {{{{' * 20]
    fine = write(tmp_path / "fine.json", channel([message(i, tricky[i % 2]) for i in range(40)]))
    read_all(fine, chunk)  # no BoundsError
    deep = tmp_path / "deep.json"
    deep.write_text('{"messages": [{"text": "[[[[[", "x":\n' + nested(70) + "}]}")
    # 37 bytes up to the 3rd level; the 62nd "[" is the 65th level: at offset 37 + 61.
    with pytest.raises(BoundsError, match=r"^nested deeper than 64 levels at byte 98$"):
        read_all(deep, chunk)
    with open_export(deep) as source, pytest.raises(ExportError, match=r"at byte 98 \(line 2\)"):
        list(ExportReader(source).messages())
