"""`framewatch run --webhook URL` as a real process: its settings errors, a run that takes
an update over the webhook and stops cleanly, and a SIGKILL right after an update's 200."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.logs import redact
from bot.webhook import SECRET_HEADER
from handlers import ALLOWED_UPDATES
from tests.cli import run_framewatch
from tests.conftest import STRANGER, TOKEN
from tests.fake_telegram import FakeTelegram, channel_post, private_message
from tests.test_crash import bot_env
from tests.test_run_errors import closed_port

SECRET = "cli-Webhook_secret-0123456789"
URL = "https://bot.example.org/hook"


@pytest.mark.parametrize(
    ("url", "secret", "expected"),
    [
        (URL, None, "FRAMEWATCH_WEBHOOK_SECRET is not set"),
        (URL, "", "FRAMEWATCH_WEBHOOK_SECRET is not set"),
        (URL, "has spaces in-it", "FRAMEWATCH_WEBHOOK_SECRET may hold only"),
        (URL, "ünïcode-secret", "FRAMEWATCH_WEBHOOK_SECRET may hold only"),
        (URL, "x" * 257, "FRAMEWATCH_WEBHOOK_SECRET may hold only"),
        ("http://bot.example.org/hook", SECRET, "--webhook needs an https:// URL"),
        ("bot.example.org/hook", SECRET, "--webhook needs an https:// URL"),
        ("https:///hook", SECRET, "--webhook needs an https:// URL"),
        ("https://bot.example.org:9000/hook", SECRET, "only to ports 443, 80, 88 and 8443"),
        ("https://bot.example.org:99999/hook", SECRET, "cannot read"),
        ("https://bot.example.org/{hook}", SECRET, "has spaces, braces or a #fragment"),
    ],
)
def test_a_bad_webhook_setting_exits_2_with_one_line(
    tmp_path: Path, url: str, secret: str | None, expected: str
) -> None:
    env = {"FRAMEWATCH_BOT_TOKEN": TOKEN}
    if secret is not None:
        env["FRAMEWATCH_WEBHOOK_SECRET"] = secret
    result = run_framewatch("run", "--webhook", url, cwd=tmp_path, **env)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    if secret:
        assert secret not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("FRAMEWATCH_WEBHOOK_PORT", "0", "FRAMEWATCH_WEBHOOK_PORT: "),
        ("FRAMEWATCH_WEBHOOK_PORT", "65536", "FRAMEWATCH_WEBHOOK_PORT: "),
        ("FRAMEWATCH_WEBHOOK_PORT", "https", "FRAMEWATCH_WEBHOOK_PORT: "),
        ("FRAMEWATCH_WEBHOOK_LISTEN", " ", "FRAMEWATCH_WEBHOOK_LISTEN: expected an address"),
    ],
)
def test_a_bad_listener_setting_exits_2_with_one_line(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    env = {"FRAMEWATCH_BOT_TOKEN": TOKEN, "FRAMEWATCH_WEBHOOK_SECRET": SECRET, variable: value}
    result = run_framewatch("run", "--webhook", URL, cwd=tmp_path, **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert SECRET not in result.stderr


def test_a_webhook_secret_is_ignored_by_commands_that_do_not_use_it(tmp_path: Path) -> None:
    result = run_framewatch("search", "x", cwd=tmp_path, FRAMEWATCH_WEBHOOK_SECRET="bad secret!")
    assert result.returncode == 0, result.stderr


async def start_bot(
    tg: FakeTelegram, tmp_path: Path, port: int, run: int
) -> asyncio.subprocess.Process:
    env = bot_env(tg, tmp_path / "bot.db") | {
        "FRAMEWATCH_WEBHOOK_SECRET": SECRET,
        "FRAMEWATCH_WEBHOOK_PORT": str(port),
    }
    with (tmp_path / f"run{run}.log").open("wb") as log:
        return await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "run", "--webhook", URL),
            cwd=tmp_path,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )


async def post(port: int, body: dict[str, Any]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/hook",
            data=json.dumps(body),
            headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
        ) as response,
    ):
        return response.status


async def stop(proc: asyncio.subprocess.Process) -> int:
    proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        return await proc.wait()


async def test_run_with_webhook_registers_answers_and_never_logs_the_secret(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    port = closed_port()
    proc = await start_bot(tg, tmp_path, port, 1)
    try:
        (request,) = await tg.wait_for_request("setWebhook", timeout=60)
        assert request.params["url"] == URL
        assert request.params["secret_token"] == SECRET
        assert request.params["allowed_updates"] == ALLOWED_UPDATES
        assert await post(port, {"update_id": 10, **private_message(STRANGER, "/start")}) == 200
        (reply,) = await tg.wait_for_sent(1, chat_id=STRANGER, timeout=30)
        assert "FrameWatch" in reply.text
    finally:
        code = await stop(proc)
    assert code == 0
    assert tg.requests_for("deleteWebhook") == []  # polling's start removes it; this did not
    assert tg.requests_for("getUpdates") == []
    log = (tmp_path / "run1.log").read_text()
    assert "webhook intake listening on 127.0.0.1:" in log
    assert "Calling Bot API endpoint `setWebhook`" in log  # DEBUG shows the call, redacted
    assert SECRET.lower() not in log.lower() and TOKEN not in log


async def test_sigkill_right_after_the_200_loses_nothing(tmp_path: Path, tg: FakeTelegram) -> None:
    port = closed_port()
    proc = await start_bot(tg, tmp_path, port, 1)
    await tg.wait_for_request("setWebhook", timeout=60)
    text = "жест доброй воли, снова"
    assert await post(port, {"update_id": 20, **channel_post(-1002000, 7, text)}) == 200
    proc.kill()  # saved and committed before the 200: whatever it had not handled is replayed
    await proc.wait()
    proc = await start_bot(tg, tmp_path, port, 2)
    try:
        await tg.wait_for_request("setWebhook", count=2, timeout=60)
        assert await post(port, {"update_id": 20, **channel_post(-1002000, 7, text)}) == 200
        assert await post(port, {"update_id": 21, **private_message(STRANGER, "/help")}) == 200
        await tg.wait_for_sent(1, chat_id=STRANGER, timeout=30)
    finally:
        assert await stop(proc) == 0
    with contextlib.closing(sqlite3.connect(tmp_path / "bot.db")) as conn:
        assert conn.execute("SELECT count(*) FROM inbox WHERE update_id = 20").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM inbox WHERE processed_at IS NULL").fetchone() == (
            0,
        )
        stored = conn.execute("SELECT text FROM posts WHERE message_id = 7").fetchall()
    assert stored == [(text,)]


def test_redaction_ignores_case() -> None:
    assert redact(f"Bad secret {SECRET.lower()}", [SECRET]) == "Bad secret [REDACTED]"
