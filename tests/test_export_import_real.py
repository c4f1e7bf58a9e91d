"""Importing the real Telegram Desktop exports in ../shared/data/exports/ (see its README):
old and new formats, Russian, Chinese, Arabic, forwards, edits. The expected counts were
verified by reading the files (json.load and counting). Skipped when the data is absent;
tests/test_export_import.py covers the same features with the project's own fixtures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.importing import ImportReport, import_export
from bot.links import post_link
from bot.sources.export import open_export
from bot.sources.export_messages import MessageReader
from storage.backend import Backend
from storage.posts import PostRepository
from storage.search import SearchRepository
from storage.timeutil import from_unix

EXPORTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "exports"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

# file -> (Bot API chat id, chat type, messages, posts, service messages)
EXPECTED = {
    "pachumarchive": (-1002447843635, "public_channel", 6, 6, 0),
    "tg2md": (-1001292077344, "private_channel", 19, 18, 1),
    "trantor_library_TG101": (-1001878264527, "public_channel", 924, 908, 16),
    "uponthepathofsalaf": (-1003204528972, "public_channel", 213, 208, 5),
}


def export_path(name: str) -> Path:
    path = EXPORTS / name / "result.json"
    if not path.exists():
        pytest.skip(f"shared export data not present: {path}")
    return path


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Every test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


async def run_import(db: Backend, path: Path, username: str | None = None) -> ImportReport:
    with open_export(path) as source:
        return await import_export(
            source, PostRepository(db), NOW, MessageReader(ZoneInfo("UTC"), username)
        )


async def column_counts(db: Backend, chat_id: int) -> dict[str, int]:
    row = await db.fetchone(
        "SELECT count(*), count(author), count(reply_to), count(edited_at),"
        " count(forwarded_from) FROM posts WHERE chat_id = ?",
        (chat_id,),
    )
    assert row is not None
    return dict(zip(("posts", "author", "reply_to", "edited", "forwarded"), row, strict=True))


async def media_counts(db: Backend, chat_id: int) -> dict[str | None, int]:
    rows = await db.fetchall(
        "SELECT media, count(*) FROM posts WHERE chat_id = ? GROUP BY media", (chat_id,)
    )
    return {r[0]: r[1] for r in rows}


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_every_real_export_imports_once(db: Backend, name: str) -> None:
    chat_id, kind, messages, posts, service = EXPECTED[name]
    path = export_path(name)

    report = await run_import(db, path)

    assert report.error is None and report.problems == []
    assert dict(report.outcomes) == {"new": posts}
    assert dict(report.skipped) == ({"service message": service} if service else {})
    assert sum(report.outcomes.values()) + sum(report.skipped.values()) == messages
    assert list(report.chats) == [chat_id] and report.chats[chat_id][1:] == (kind, posts)
    ids = [r[0] for r in await db.fetchall("SELECT DISTINCT chat_id FROM posts")]
    assert ids == [chat_id]

    before = [tuple(r) for r in await db.fetchall("SELECT * FROM posts ORDER BY id")]
    again = await run_import(db, path)
    assert dict(again.outcomes) == {"unchanged": posts}
    assert [tuple(r) for r in await db.fetchall("SELECT * FROM posts ORDER BY id")] == before
    assert await db.fetchval("SELECT count(*) FROM post_versions") == 0


async def test_modern_russian_export_with_entities_and_edits(db: Backend) -> None:
    await run_import(db, export_path("pachumarchive"))
    chat_id = EXPECTED["pachumarchive"][0]
    text = await db.fetchval("SELECT text FROM posts WHERE message_id = 3858")
    assert text == (
        "Очень странные дела (S1 E1-5)\n\n📹 ТВИЧ | 💳 БУСТИ | 💬 ТЕЛЕГА\n\n#КиноСтрим #ОСД"
    )
    row = await db.fetchone("SELECT posted_at, edited_at FROM posts WHERE message_id = 3858")
    assert row is not None and tuple(row) == (1781868410, 1781868414)
    assert await media_counts(db, chat_id) == {"photo": 1, "video": 5}
    hits = await SearchRepository(db).search("странные")
    assert [(h.chat_id, h.message_id) for h in hits] == [(chat_id, 3858)]


async def test_old_format_export_has_local_dates(db: Backend) -> None:
    report = await run_import(db, export_path("tg2md"))
    chat_id = EXPECTED["tg2md"][0]
    assert report.local_dates == 18  # no date_unixtime anywhere: read as UTC here
    posted = await db.fetchval("SELECT posted_at FROM posts WHERE message_id = 2")
    assert from_unix(posted) == datetime(2020, 11, 12, 12, 54, 7, tzinfo=UTC)
    text = await db.fetchval("SELECT text FROM posts WHERE message_id = 14")
    assert text == "text link\n\nexample.com\n\nexample@example.com"
    assert (
        await db.fetchval("SELECT text FROM posts WHERE message_id = 21") == "тестирование utf-8."
    )
    assert await column_counts(db, chat_id) == {
        "posts": 18, "author": 0, "reply_to": 0, "edited": 5, "forwarded": 0
    }  # fmt: skip
    assert await media_counts(db, chat_id) == {
        None: 9, "photo": 5, "voice": 1, "audio": 1, "document": 2
    }  # fmt: skip
    assert post_link(chat_id, None, 2) == "https://t.me/c/1292077344/2"


async def test_chinese_export_signatures_replies_edits_and_a_poll(db: Backend) -> None:
    await run_import(db, export_path("trantor_library_TG101"))
    chat_id = EXPECTED["trantor_library_TG101"][0]
    # 84 replies, one of them to a message of another channel (reply_to_peer_id): dropped.
    assert await column_counts(db, chat_id) == {
        "posts": 908, "author": 513, "reply_to": 83, "edited": 880, "forwarded": 0
    }  # fmt: skip
    assert await media_counts(db, chat_id) == {
        None: 400, "photo": 483, "video": 12, "document": 10, "poll": 1, "sticker": 1,
        "audio": 1,
    }  # fmt: skip
    text = await db.fetchval("SELECT text FROM posts WHERE message_id = 6")
    assert text.startswith("目录\n\n\n🏷\n\n体裁：\n#随笔\n#收集")
    assert await db.fetchval("SELECT author FROM posts WHERE message_id = 6") == "Daneel God"


async def test_arabic_export_with_forwards_and_public_links(db: Backend) -> None:
    report = await run_import(db, export_path("uponthepathofsalaf"), "uponthepathofsalaf")
    chat_id = EXPECTED["uponthepathofsalaf"][0]
    assert report.error is None
    assert await column_counts(db, chat_id) == {
        "posts": 208, "author": 1, "reply_to": 6, "edited": 106, "forwarded": 27
    }  # fmt: skip
    assert (await media_counts(db, chat_id))["sticker"] == 37
    forwarded = await db.fetchval("SELECT forwarded_from FROM posts WHERE message_id = 61")
    assert forwarded == "Khazīnatul ʾIlm | خزينة العلم"
    text = await db.fetchval("SELECT text FROM posts WHERE message_id = 8")
    assert "حف" in text and text.startswith("ʿIlm al-Kalām")
    username = await db.fetchval("SELECT username FROM channels WHERE chat_id = ?", (chat_id,))
    assert post_link(chat_id, username, 8) == "https://t.me/uponthepathofsalaf/8"


async def test_all_real_exports_into_one_database(db: Backend) -> None:
    for name in sorted(EXPECTED):
        await run_import(db, export_path(name))
    rows = await db.fetchall("SELECT chat_id, count(*) FROM posts GROUP BY chat_id")
    assert {r[0]: r[1] for r in rows} == {v[0]: v[3] for v in EXPECTED.values()}
