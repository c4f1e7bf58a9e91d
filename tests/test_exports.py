"""`framewatch export posts|matches`: every stored post or match, whatever its source, as
JSON Lines or CSV, streamed page by page; read back with json and the csv module."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.commands.export import channel_candidates, parse_since
from bot.importing import import_export
from bot.scan import run_scan
from bot.sources.export import open_export
from bot.sources.export_messages import MessageReader
from storage.exports import ExportRepository
from tests.backends import sqlite_only_because
from tests.cli import run_framewatch
from tests.conftest import MODERATOR, Harness
from tests.fake_telegram import channel_post, forwarded_channel_post

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "exports"
EVENING = -1001500000001
LIVE = -1009000000001
TRICKY = 'Line one, with a comma\nLine "two"; 中文 and عربى'


async def fill(h: Harness) -> None:
    """Posts from three sources (bot, forward, import), a framing, and a scan."""
    await h.grant_roles()
    text = "Это жест доброй воли, и точка."
    await h.push(channel_post(LIVE, 5, text, username="live_news", date=1_700_100_000))
    await h.push(channel_post(LIVE, 6, "first", username="live_news", date=1_700_100_000))
    await h.push(channel_post(LIVE, 6, "second", edited=True, edit_date=1_700_100_100))
    await h.push(forwarded_channel_post(MODERATOR, -1009000000002, 77, "Пересланный пост"))
    with open_export(FIXTURES / "new_format.json") as source:
        await import_export(source, h.services.posts, h.clock(), MessageReader(ZoneInfo("UTC")))
    reply = await h.command(MODERATOR, "/watch goodwill-gesture жест доброй воли")
    assert "жест доброй воли" in reply[0]
    await run_scan(h.services.framings, h.services.matches, h.clock)


def framewatch(h: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    """`framewatch export ARGS` on the harness's database, SQLite file or PostgreSQL."""
    db = Path(h.services.settings.db_path)
    return run_framewatch("export", *args, cwd=db.parent, db=db, **h.database_env())


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("framewatch"))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


async def test_repository_pages_through_every_post_in_order(harness: Harness) -> None:
    await fill(harness)
    exports = ExportRepository(harness.db)
    paged = [p async for p in exports.posts(None, None, page_size=2)]
    whole = [p async for p in exports.posts(None, None, page_size=1000)]

    assert paged == whole and len(paged) == 3 + 7
    assert [(p.chat_id, p.message_id) for p in paged][:3] == [
        (LIVE, 5), (LIVE, 6), (-1009000000002, 77)
    ]  # fmt: skip
    assert {p.source for p in paged} == {"bot", "forward", "import"}
    edited = next(p for p in paged if p.message_id == 6)
    assert (edited.text, edited.versions) == ("second", 1)
    since = datetime(2023, 11, 14, 23, 0, tzinfo=UTC)
    dated = [p async for p in exports.posts(EVENING, since, page_size=2)]
    assert [p.message_id for p in dated] == [12, 13, 14, 15, 16]


async def test_repository_pages_through_matches(harness: Harness) -> None:
    await fill(harness)
    exports = ExportRepository(harness.db)
    matches = [m async for m in exports.matches(None, None, page_size=1)]
    assert [(m.chat_id, m.message_id, m.matched_text) for m in matches] == [
        (LIVE, 5, "жест доброй воли"),
        (EVENING, 10, "жест доброй воли"),
    ]
    assert [m async for m in exports.matches("goodwill-gesture", None)] == matches
    later = datetime(2023, 11, 15, tzinfo=UTC)
    assert [m.chat_id async for m in exports.matches(None, later)] == [LIVE]


async def test_posts_as_csv_survive_commas_quotes_newlines_and_scripts(
    harness: Harness, tmp_path: Path
) -> None:
    await fill(harness)
    out = tmp_path / "posts.csv"
    result = framewatch(harness, "posts", "--format", "csv", "--output", str(out))

    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and "Wrote 10 posts to" in result.stderr
    rows = read_csv(out)
    assert len(rows) == 10 and files_in(tmp_path) == ["posts.csv"]
    by_id = {(int(r["chat_id"]), int(r["message_id"])): r for r in rows}
    tricky = by_id[(EVENING, 11)]
    assert tricky["text"] == TRICKY
    assert tricky["author"] == "Иван Петров" and tricky["channel_title"] == "Вечерний эфир"
    assert (tricky["edited"], tricky["edited_at"]) == ("true", "2023-11-14T22:33:20+00:00")
    assert tricky["date"] == "2023-11-14T22:23:20+00:00"
    assert tricky["link"] == "https://t.me/c/1500000001/11" and tricky["source"] == "import"
    live = by_id[(LIVE, 5)]
    assert live["link"] == "https://t.me/live_news/5" and live["source"] == "bot"
    assert (live["edited"], live["edited_at"], live["views"]) == ("false", "", "")
    assert by_id[(EVENING, 12)]["forwarded_from"] == "Echo of the Front"
    assert by_id[(EVENING, 12)]["media"] == "video"
    assert by_id[(-1009000000002, 77)]["source"] == "forward"


# Each `framewatch export` is a process of 2-5 s, so PostgreSQL's run keeps the key ones:
# posts as CSV, matches, a failed lookup. The channel filters below are
# tests/test_exports_backends.py's on both databases.
@sqlite_only_because("3 CLI runs; the filters are test_exports_backends on both")
async def test_posts_as_jsonl_to_stdout_for_one_channel_since_a_date(harness: Harness) -> None:
    await fill(harness)
    result = framewatch(
        harness, "posts", "--channel", "1500000001", "--since", "2023-11-15T01:00+02:00"
    )

    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["message_id"] for r in rows] == [12, 13, 14, 15, 16]
    assert rows[0]["chat_id"] == EVENING and rows[0]["views"] is None
    assert rows[0]["edited"] is False and rows[0]["text"].startswith("Это была")
    by_name = framewatch(harness, "posts", "--channel", "@LIVE_NEWS")
    assert [json.loads(line)["message_id"] for line in by_name.stdout.splitlines()] == [5, 6]
    by_title = framewatch(harness, "posts", "--channel", "Вечерний эфир")
    assert len(by_title.stdout.splitlines()) == 7


async def test_matches_as_csv_and_jsonl(harness: Harness, tmp_path: Path) -> None:
    await fill(harness)
    out = tmp_path / "matches.csv"
    result = framewatch(harness, "matches", "--format", "csv", "--output", str(out))
    assert result.returncode == 0, result.stderr
    rows = read_csv(out)
    assert [(r["link"], r["framing"], r["term"], r["matched_text"]) for r in rows] == [
        ("https://t.me/live_news/5", "goodwill-gesture", "жест доброй воли", "жест доброй воли"),
        ("https://t.me/c/1500000001/10", "goodwill-gesture", "жест доброй воли",
         "жест доброй воли"),
    ]  # fmt: skip
    assert rows[1]["post_date"] == "2023-11-14T22:13:20+00:00"
    text = await harness.db.fetchval("SELECT text FROM posts WHERE message_id = 10")
    assert text[int(rows[1]["start"]) : int(rows[1]["end"])] == rows[1]["matched_text"]
    assert [r["channel_watchdog"] for r in rows] == ["false", "false"]

    # A watchdog channel's matches say so, for analysts to keep or drop them.
    await harness.command(MODERATOR, "/watchdog @live_news")
    jsonl = framewatch(harness, "matches", "--framing", "goodwill-gesture", "--since", "2023-11-15")
    exported = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [(m["chat_id"], m["channel_watchdog"]) for m in exported] == [(LIVE, True)]


# Each case is a `framewatch export` process (2-4 s): a failed lookup runs on both; the
# cases that only parse an argument, or look a channel up (test_exports_backends does on
# both), on SQLite.
_BOTH, _PARSED = ("sqlite", "postgresql"), ("sqlite-only: an argument parsed, no lookup",)
_CHANNEL = ("sqlite-only: channel lookups are test_exports_backends on both",)
_BAD_ARGUMENTS = [
    (["posts", "--since", "yesterday"], "--since 'yesterday' is not a date", _PARSED),
    (["posts", "--channel", "@nobody_here"], "no stored channel matches --channel", _CHANNEL),
    (["posts", "--channel", "424242"], "no stored channel matches --channel", _PARSED),
    (["matches", "--framing", "no-such"], "no framing is called 'no-such'", _BOTH),
    (["matches", "--since", "2024-13-01"], "is not a date", _PARSED),
]


@pytest.mark.parametrize(
    ("backend_target", "args", "says"),
    [
        pytest.param(backend.split("-")[0], args, says, id=f"{backend}-{' '.join(args)}")
        for args, says, backends in _BAD_ARGUMENTS
        for backend in backends
    ],
    indirect=["backend_target"],
)
async def test_bad_arguments_exit_2_with_one_line_and_no_file(
    harness: Harness, tmp_path: Path, args: list[str], says: str
) -> None:
    await fill(harness)
    out = tmp_path / "out.csv"
    result = framewatch(harness, *args, "--output", str(out))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and says in result.stderr
    assert result.stdout == "" and not out.exists()


@sqlite_only_because("the output file is the same on both; a CLI run of 2-6 s")
async def test_unwritable_output_exits_2(harness: Harness, tmp_path: Path) -> None:
    result = framewatch(harness, "posts", "--output", str(tmp_path / "no" / "x"))
    assert result.returncode == 2 and "cannot write" in result.stderr


def test_since_forms() -> None:
    assert parse_since(None) is None
    assert parse_since("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_since("2024-05-01T09:00+03:00") == datetime(2024, 5, 1, 6, tzinfo=UTC)
    assert parse_since("2024-05-01 09:00") == datetime(2024, 5, 1, 9, tzinfo=UTC)


def test_channel_forms() -> None:
    assert channel_candidates("-1001500000001") == ([-1001500000001], None)
    assert channel_candidates("1500000001") == ([1500000001, -1001500000001], None)
    assert channel_candidates("@live_news") == ([], "live_news")
    assert channel_candidates("https://t.me/live_news") == ([], "live_news")
    assert channel_candidates("Вечерний эфир") == ([], None)


def test_csv_cells_round_trip() -> None:
    """The writer the command uses, on the worst text a post can hold."""
    from bot.commands.export import POST_COLUMNS, _writer

    out = io.StringIO(newline="")
    row: dict[str, Any] = dict.fromkeys(POST_COLUMNS)
    row.update(text='a,"b"\r\nc\n' + TRICKY, edited=True, views=0)
    _writer("csv", out, POST_COLUMNS)(row)
    out.seek(0)
    (back,) = list(csv.DictReader(out))
    assert back["text"] == 'a,"b"\r\nc\n' + TRICKY
    assert (back["edited"], back["views"], back["author"]) == ("true", "0", "")
