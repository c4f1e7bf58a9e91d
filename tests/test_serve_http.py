"""`framewatch serve` as a real process, read over HTTP: the token gate, the tables and SQL a
reader without the token never reaches, and secrets that appear nowhere."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.cli import run_framewatch
from tests.serve_seed import ANALYST_ID, SUBSCRIBER, running_serve, seed_database

BOT_TOKEN = "987654:BOT-token-never-served"
SERVE_TOKEN = "s3rve-tøken-for-readers"  # non-ASCII: compared as bytes
PRIVATE = ("audit_log", "roles", "subscribers", "inbox", "deliveries", "channels", "framings")
SECRET_MARKERS = (str(ANALYST_ID), str(SUBSCRIBER), BOT_TOKEN)


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    path = tmp_path / "framewatch.db"
    await seed_database(path)
    return path


def private_urls(name: str) -> list[str]:
    urls = []
    for table in PRIVATE:
        urls += [f"/{name}/{table}", f"/{name}/{table}.json", f"/{name}/{table}.csv",
                 f"/{name}/{table}/1.json", f"/{name}/{table.upper()}.json"]  # fmt: skip
    for sql in ("select * from audit_log", "select user_id from roles", "select 1"):
        urls += [f"/{name}.json?sql={sql}", f"/{name}?sql={sql}"]
    return [*urls, f"/{name}/posts.json?_where=1=1", f"/{name}.db", "/-/permissions"]


def test_without_a_token_user_id_tables_and_sql_are_unreachable(db: Path, tmp_path: Path) -> None:
    serving = running_serve(db, tmp_path, FRAMEWATCH_BOT_TOKEN=BOT_TOKEN)
    with serving as (base, proc), httpx.Client(base_url=base, timeout=30) as client:
        for url in private_urls("framewatch"):
            response = client.get(url)
            assert response.status_code in {403, 404}, url
            assert not any(marker in response.text for marker in SECRET_MARKERS), url
        for url in ("/framewatch/framing_list.json", "/framewatch/posts.json"):
            ignored = client.get(url, params={"sql": "select user_id, action from audit_log"})
            assert ignored.status_code in {200, 400, 403}, url  # never the audit log
            assert not any(marker in ignored.text for marker in SECRET_MARKERS), url
            assert "grant" not in ignored.text, url
        listing = client.get("/framewatch.json").json()
        assert {t["name"] for t in listing["tables"]} <= {
            "posts", "posts_fts", "post_lemmas", "post_versions", "matches", "trend_posts",
            "near_duplicates",
        }  # fmt: skip
        assert len(listing["queries"]) >= 8
        for url in ("/", "/-/dashboard", "/framewatch", "/framewatch/posts", "/-/metadata.json",
                    "/-/settings.json", "/-/versions.json", "/-/plugins.json",
                    "/-/databases.json", "/framewatch/channel_list.json"):  # fmt: skip
            response = client.get(url)
            assert response.status_code == 200, url
            assert not any(marker in response.text for marker in SECRET_MARKERS), url
        posts = client.get("/framewatch/posts").text
        assert 'href="https://t.me/c/1234567890/5"' in posts
        # The bot writes meanwhile (WAL): the view reads it without a restart.
        writer = sqlite3.connect(db)
        with writer:
            writer.execute(
                "INSERT INTO posts (chat_id, message_id, posted_at, text, stored_at)"
                " VALUES (-1001, 999, 1795600000, 'новый пост', '2026-11-25T12:00:00+00:00')"
            )
        writer.close()
        fresh = client.get("/framewatch/posts.json", params={"message_id": 999, "_shape": "array"})
        assert [row["text"] for row in fresh.json()] == ["новый пост"]
        assert db.with_name("framewatch.db-wal").exists()  # still in WAL mode
    assert proc.returncode == 130  # stopped by Ctrl+C (SIGINT), as every command
    printed = (tmp_path / "serve.err").read_text()
    assert BOT_TOKEN not in printed and "Traceback" not in printed


def test_with_a_token_every_page_needs_it(db: Path, tmp_path: Path) -> None:
    env = {"FRAMEWATCH_BOT_TOKEN": BOT_TOKEN, "FRAMEWATCH_SERVE_TOKEN": SERVE_TOKEN}
    with running_serve(db, tmp_path, **env) as (base, _):
        with httpx.Client(base_url=base, timeout=30) as client:
            for url in ("/", "/-/dashboard", "/framewatch.json", "/framewatch/posts.json",
                        "/framewatch/audit_log.json", "/-/static/app.css",
                        "/framewatch-static/vega-6.4.0.min.js", "/framewatch.db"):  # fmt: skip
                for headers in ({}, {"Authorization": "Bearer wrong"},
                                {"Authorization": f"Basic {SERVE_TOKEN}".encode()},
                                {"Cookie": "framewatch_serve=forged"}):  # fmt: skip
                    denied = client.get(url, headers=headers)
                    assert denied.status_code == 401, (url, headers)
                    assert SERVE_TOKEN not in denied.text
                assert client.get(url, params={"_token": "wrong"}).status_code == 401
        bearer = {"Authorization": f"Bearer {SERVE_TOKEN}".encode()}
        with httpx.Client(base_url=base, headers=bearer, timeout=30) as reader:
            audit = reader.get("/framewatch/audit_log.json", params={"_shape": "array"})
            assert audit.status_code == 200 and str(ANALYST_ID) in audit.text
            assert reader.get("/framewatch.json", params={"sql": "select 1"}).status_code == 200
            assert reader.get("/framewatch.db").status_code in {403, 404}
            reader.get("/framewatch/posts.json", params={"_sort": "no_such_column"})
        with httpx.Client(base_url=base, timeout=30) as browser:
            first = browser.get("/framewatch/posts", params={"_token": SERVE_TOKEN, "_sort": "id"})
            assert first.status_code == 302
            assert first.headers["location"] == "/framewatch/posts?_sort=id"
            assert SERVE_TOKEN not in first.headers["set-cookie"]
            assert "HttpOnly" in first.headers["set-cookie"]
            assert browser.get(first.headers["location"]).status_code == 200
            again = browser.get("/fr%61mewatch/x", params={"q": "доб", "_token": SERVE_TOKEN})
            assert again.headers["location"] == "/fr%61mewatch/x?q=%D0%B4%D0%BE%D0%B1"
            assert browser.get("/framewatch/roles.json").status_code == 200
    printed = (tmp_path / "serve.err").read_text()
    assert SERVE_TOKEN not in printed and BOT_TOKEN not in printed


def test_serve_refuses_a_missing_database_and_a_busy_port(tmp_path: Path) -> None:
    missing = run_framewatch("serve", cwd=tmp_path, db=tmp_path / "none.db", timeout=60)
    assert missing.returncode == 2 and "no database at" in missing.stderr
    assert not (tmp_path / "none.db").exists()
    (tmp_path / "x.db").touch()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        refused = run_framewatch("serve", "--port", port, cwd=tmp_path, db=tmp_path / "x.db")
    assert refused.returncode == 1 and f"port {port} on 127.0.0.1 is in use" in refused.stderr
    bad = run_framewatch("serve", "--port", "http", cwd=tmp_path, db=tmp_path / "x.db")
    assert bad.returncode == 2 and "is not a port" in bad.stderr
