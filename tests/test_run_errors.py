"""`framewatch run` against a server that rejects the token, or no server: one clear line."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

from tests.fake_telegram import FakeTelegram
from tests.test_crash import bot_env

WRONG_TOKEN = "999999:WRONG-secret-token-value"


async def run_cli(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(60):
        out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_a_rejected_token_exits_with_one_line_and_no_token(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    env = bot_env(tg, tmp_path / "bot.db") | {"FRAMEWATCH_BOT_TOKEN": WRONG_TOKEN}
    code, output = await run_cli(env, tmp_path)
    assert code == 2
    assert "Telegram rejected FRAMEWATCH_BOT_TOKEN" in output
    assert "Traceback" not in output
    assert WRONG_TOKEN not in output and "WRONG-secret" not in output


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_unreachable_api_exits_clearly_without_the_token(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    env = bot_env(tg, tmp_path / "bot.db")
    env["FRAMEWATCH_API_BASE_URL"] = f"http://127.0.0.1:{closed_port()}/bot"
    code, output = await run_cli(env, tmp_path)
    assert code == 1
    assert "cannot reach the Bot API at http://127.0.0.1:" in output
    assert "Traceback" not in output
    assert env["FRAMEWATCH_BOT_TOKEN"] not in output
