"""Importing Telegram Desktop exports (the project's own fixtures) into a real SQLite file:
old and new formats, entities, media, service messages, edits, full-account exports,
malformed messages and broken JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.importing import BATCH_SIZE, ImportReport, import_export
from bot.links import internal_channel_id, post_link
from bot.sources.export import ExportError, bot_api_chat_id, open_export
from bot.sources.export_messages import MessageReader
from bot.sources.usernames import parse_username
from storage.backend import Backend
from storage.db import open_database
from storage.posts import PostRepository
from storage.timeutil import from_unix
from tests.conftest import Harness
from tests.fake_telegram import channel_post

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "exports"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
EVENING = -1001500000001  # "Вечерний эфир" in new_format.json
TEXT_10 = "Повторю: это был жест доброй воли, — сказал он. Источник 🔥"


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Every importer test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


async def run_import(
    db: Backend,
    path: Path,
    *,
    username: str | None = None,
    zone: str = "UTC",
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    with open_export(path) as source:
        return await import_export(
            source,
            PostRepository(db),
            NOW,
            MessageReader(ZoneInfo(zone), username),
            batch_size=batch_size,
        )


async def posts_of(db: Backend, chat_id: int) -> dict[int, dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT p.*, s.needs_scan FROM posts p JOIN post_scan s ON s.post_id = p.id"
        " WHERE chat_id = ? ORDER BY message_id",
        (chat_id,),
    )
    return {r["message_id"]: dict(r) for r in rows}


async def snapshot(db: Backend) -> dict[str, list[tuple[Any, ...]]]:
    """Everything an import can change, except the channels' updated_at bookkeeping."""
    tables = {
        "channels": "SELECT chat_id, username, title, is_member, added_at FROM channels"
        " ORDER BY chat_id",
        "posts": "SELECT * FROM posts ORDER BY id",
        "versions": "SELECT * FROM post_versions ORDER BY id",
        "fts": "SELECT rowid, text FROM posts_fts ORDER BY rowid"  # the full-text index
        if db.dialect.is_sqlite
        else "SELECT id, CAST(search_tsv AS TEXT) FROM posts ORDER BY id",
    }
    return {name: [tuple(r) for r in await db.fetchall(sql)] for name, sql in tables.items()}


async def test_new_format_text_entities_media_and_details(db: Backend) -> None:
    report = await run_import(db, FIXTURES / "new_format.json")

    assert report.error is None
    assert dict(report.outcomes) == {"new": 7}
    assert dict(report.skipped) == {"service message": 2}
    assert report.problems == [] and report.local_dates == 0
    assert report.chats == {EVENING: ("Вечерний эфир", "public_channel", 7)}
    posts = await posts_of(db, EVENING)
    assert sorted(posts) == [10, 11, 12, 13, 14, 15, 16]
    # Entity parts contribute their text only, as the Bot API's message.text has it.
    assert posts[10]["text"] == TEXT_10
    assert posts[11]["text"] == 'Line one, with a comma\nLine "two"; 中文 and عربى'
    assert {m: p["media"] for m, p in posts.items()} == {
        10: "photo", 11: None, 12: "video", 13: None, 14: "document", 15: "poll", 16: "sticker"
    }  # fmt: skip
    assert from_unix(posts[10]["posted_at"]) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert posts[10]["edited_at"] is None and posts[11]["edited_at"] == 1700001200
    assert posts[11]["author"] == "Иван Петров" and posts[10]["author"] is None
    assert posts[12]["forwarded_from"] == "Echo of the Front"
    assert posts[12]["forwarded_link"] is None  # an export does not say the original's id
    assert posts[13]["reply_to"] == 10
    assert posts[14]["reply_to"] is None  # a reply to another chat's message
    assert {p["source"] for p in posts.values()} == {"import"}
    assert {p["needs_scan"] for p in posts.values()} == {1}


async def test_channel_id_and_links_without_and_with_username(db: Backend) -> None:
    await run_import(db, FIXTURES / "new_format.json")
    channel = await db.fetchone("SELECT chat_id, username, title FROM channels")
    assert channel is not None and tuple(channel) == (EVENING, None, "Вечерний эфир")
    assert post_link(EVENING, None, 10) == "https://t.me/c/1500000001/10"

    report = await run_import(db, FIXTURES / "new_format.json", username="vecherny")
    assert dict(report.outcomes) == {"unchanged": 7}
    assert await db.fetchval("SELECT username FROM channels") == "vecherny"
    assert post_link(EVENING, "vecherny", 10) == "https://t.me/vecherny/10"


def test_bot_api_ids_of_exported_channels() -> None:
    assert bot_api_chat_id(2447843635) == -1002447843635
    assert bot_api_chat_id(-1002447843635) == -1002447843635  # already a Bot API id
    for bare in (1, 1292077344, 3204528972):
        assert internal_channel_id(bot_api_chat_id(bare)) == bare


async def test_importing_the_same_file_twice_changes_nothing(db: Backend) -> None:
    for name in ("new_format.json", "old_format.json", "full_account.json"):
        await run_import(db, FIXTURES / name)
    before = await snapshot(db)
    report = await run_import(db, FIXTURES / "new_format.json")
    assert dict(report.outcomes) == {"unchanged": 7}
    report = await run_import(db, FIXTURES / "full_account.json", batch_size=2)
    assert dict(report.outcomes) == {"unchanged": 5}
    assert await snapshot(db) == before


async def test_old_format_dates_are_local_time_of_the_given_zone(db: Backend) -> None:
    report = await run_import(db, FIXTURES / "old_format.json", zone="Europe/Kyiv")

    assert dict(report.outcomes) == {"new": 4}
    assert dict(report.skipped) == {"service message": 1}
    assert report.local_dates == 4
    posts = await posts_of(db, -1001292000001)
    # 12:54:07 in Kyiv (UTC+2 in November) is 10:54:07 UTC.
    assert from_unix(posts[2]["posted_at"]) == datetime(2020, 11, 12, 10, 54, 7, tzinfo=UTC)
    assert from_unix(posts[3]["edited_at"]) == datetime(2020, 11, 12, 11, 3, tzinfo=UTC)
    assert posts[3]["text"] == "italic then example.com\n\ncode"
    assert (posts[4]["media"], posts[5]["media"]) == ("photo", "voice")


async def test_old_format_dates_in_utc(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "utc.db")
    try:
        await run_import(db, FIXTURES / "old_format.json", zone="UTC")
        posted_at = await db.fetchval("SELECT posted_at FROM posts WHERE message_id = 2")
        assert from_unix(posted_at) == datetime(2020, 11, 12, 12, 54, 7, tzinfo=UTC)
    finally:
        await db.close()


async def test_full_account_export_imports_channels_and_supergroups_only(db: Backend) -> None:
    report = await run_import(db, FIXTURES / "full_account.json")

    assert report.error is None
    assert dict(report.outcomes) == {"new": 5}
    assert dict(report.skipped) == {
        "in a personal_chat (only channels and supergroups are imported)": 2,
        "in a private_group (only channels and supergroups are imported)": 1,
        "in a saved_messages (only channels and supergroups are imported)": 1,
        "service message": 1,
    }
    channels = await db.fetchall("SELECT chat_id, title FROM channels ORDER BY chat_id DESC")
    assert [tuple(c) for c in channels] == [
        (-1001700000001, "Channel A"),
        (-1001700000002, "Group B"),
        (-1001700000003, "Left channel"),  # from left_chats
    ]
    texts = [r[0] for r in await db.fetchall("SELECT text FROM posts ORDER BY id")]
    assert texts == [
        "Channel A post two",
        "Channel A #three",
        "Group B from Alice",
        "Group B reply from Bob",
        "from a channel I left",
    ]
    group = await posts_of(db, -1001700000002)
    assert (group[1]["author"], group[2]["author"], group[2]["reply_to"]) == ("Alice", "Bob", 1)
    assert (await posts_of(db, -1001700000001))[3]["author"] == "Editor"


async def test_username_is_refused_for_a_full_account_export(db: Backend) -> None:
    report = await run_import(db, FIXTURES / "full_account.json", username="channel_a")
    assert report.error is not None and "--username" in report.error
    assert await db.fetchval("SELECT count(*) FROM posts") == 0


async def test_malformed_messages_are_reported_and_skipped(db: Backend) -> None:
    report = await run_import(db, FIXTURES / "bad_messages.json")

    assert report.error is None
    assert dict(report.outcomes) == {"new": 2}
    assert sorted((await posts_of(db, -1001800000001)).keys()) == [1, 7]
    assert report.problems == [
        "a message without id in Bad messages: missing or invalid id",
        "message '2' in Bad messages: missing or invalid id",
        "message 3 in Bad messages: text is neither a string nor a list",
        "message 4 in Bad messages: missing or invalid date",
        "message 5 in Bad messages: a part of the text has no string text",
        "a message without id in Bad messages: not a JSON object",
        "message 6 in Bad messages: missing or invalid date",
    ]
    assert sum(report.skipped.values()) == 7


async def test_broken_json_midway_keeps_what_came_before(db: Backend) -> None:
    path = FIXTURES / "broken_midway.json"
    report = await run_import(db, path, batch_size=2)

    assert report.error is not None
    # The second comma after "id": 6 (line 11) is where the JSON breaks.
    offset = path.read_bytes().index(b'"id": 6,,') + len(b'"id": 6,')
    assert f"at byte {offset} (line 11)" in report.error
    assert "invalid object key" in report.error
    texts = [r[0] for r in await db.fetchall("SELECT text FROM posts ORDER BY message_id")]
    assert texts == ["one", "two", "three", "four", "five"]  # two batches and the rest

    again = await run_import(db, path, batch_size=2)
    assert dict(again.outcomes) == {"unchanged": 5} and again.error == report.error
    assert await db.fetchval("SELECT count(*) FROM posts") == 5


async def test_truncated_file_says_it_ends_early(db: Backend) -> None:
    path = FIXTURES / "truncated.json"
    report = await run_import(db, path)

    assert report.error is not None
    assert f"at byte {path.stat().st_size} (line 8)" in report.error
    assert "ends early" in report.error
    assert [r[0] for r in await db.fetchall("SELECT text FROM posts")] == ["one", "two"]


async def test_broken_full_account_export_keeps_the_chats_before(
    db: Backend, tmp_path: Path
) -> None:
    whole = (FIXTURES / "full_account.json").read_bytes()
    cut = whole.index(b'"name": "Family"')  # ends inside the chats list, after Group B
    path = tmp_path / "result.json"
    path.write_bytes(whole[:cut])

    report = await run_import(db, path)

    assert report.error is not None and f"at byte {cut} " in report.error
    assert "ends early" in report.error
    assert dict(report.outcomes) == {"new": 4}  # Channel A and Group B
    assert await db.fetchval("SELECT count(DISTINCT chat_id) FROM posts") == 2


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("<!DOCTYPE html><html><body>messages</body></html>", "at byte 0 (line 1)"),
        ('{"about": "not an export", "numbers": [1, 2, 3]}', "no chat found"),
        ("[]", "no chat found"),
        ("", "ends early"),
    ],
)
async def test_files_that_are_not_json_exports(
    db: Backend, tmp_path: Path, content: str, says: str
) -> None:
    path = tmp_path / "result.json"
    path.write_text(content, encoding="utf-8")
    report = await run_import(db, path)
    assert report.error is not None and says in report.error
    assert await db.fetchval("SELECT count(*) FROM posts") == 0


async def test_byte_order_mark_and_export_folder(db: Backend, tmp_path: Path) -> None:
    folder = tmp_path / "ChatExport_2024-01-01"
    folder.mkdir()
    (folder / "result.json").write_bytes(
        b"\xef\xbb\xbf" + (FIXTURES / "new_format.json").read_bytes()
    )
    report = await run_import(db, folder)
    assert report.error is None and dict(report.outcomes) == {"new": 7}


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"no such file; give the result.json"):
        open_export(tmp_path / "nowhere.json")


async def test_changed_text_is_an_edit_and_an_older_one_is_kept_out(db: Backend) -> None:
    await run_import(db, FIXTURES / "new_format.json")
    async with db.atomic() as conn:
        await conn.execute("UPDATE post_scan SET needs_scan = 0")  # as after a scan

    report = await run_import(db, FIXTURES / "new_format_edited.json")

    assert dict(report.outcomes) == {"edited": 1, "stale": 1, "unchanged": 1}
    posts = await posts_of(db, EVENING)
    assert posts[10]["text"] == "Исправлено: это было отступление."
    assert posts[10]["edited_at"] == 1700086400 and posts[10]["needs_scan"] == 1
    assert await PostRepository(db).versions(EVENING, 10) == [TEXT_10]
    # The export's message 11 is older than the stored edit: the stored text stays.
    assert posts[11]["text"].startswith("Line one") and posts[11]["needs_scan"] == 0
    assert await PostRepository(db).versions(EVENING, 11) == []


async def test_import_and_live_posts_of_one_channel_are_one_channel(harness: Harness) -> None:
    await harness.push(
        channel_post(EVENING, 10, TEXT_10, username="vecherny", title="Вечерний эфир")
    )
    with open_export(FIXTURES / "new_format.json") as source:
        report = await import_export(
            source, harness.services.posts, NOW, MessageReader(ZoneInfo("UTC"))
        )

    assert dict(report.outcomes) == {"unchanged": 1, "new": 6}
    channels = await harness.services.channels.list_with_stats()
    assert [(c.chat_id, c.username, c.post_count) for c in channels] == [(EVENING, "vecherny", 7)]
    sources = await harness.db.fetchall("SELECT message_id, source FROM posts ORDER BY id")
    assert [tuple(r) for r in sources][:2] == [(10, "bot"), (11, "import")]


@pytest.mark.parametrize(
    ("given", "username"),
    [("durov", "durov"), ("@durov", "durov"), ("https://t.me/durov", "durov"),
     ("t.me/Some_Channel/", "some_channel")],
)  # fmt: skip
def test_username_forms(given: str, username: str) -> None:
    assert parse_username(given) == username


@pytest.mark.parametrize("given", ["", "abc", "1channel", "has space", "t.me/c/123", "a" * 33])
def test_bad_usernames(given: str) -> None:
    with pytest.raises(ValueError, match="is not a channel username"):
        parse_username(given)
