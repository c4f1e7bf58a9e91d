"""A real database for the browser view's tests: posts of five channels over ten days, two
framings, a coordinated push, an edited post, and the private rows (a role, a subscriber,
the audit entry of the grant) that a reader without the token must never see."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import Settings
from bot.context import Services
from bot.framings import check_new_term
from bot.indexing import run_indexing
from bot.scan import run_scan
from storage.db import open_database
from storage.models import IncomingPost
from tests.cli import PROJECT_ROOT

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PRIVATE_CHANNEL = -1001234567890  # no username: its links are t.me/c/1234567890/<id>
SUBSCRIBER = 424242  # a subscriber's chat id: private
ANALYST_ID = 313131  # granted a role: private
PUSH = (
    "Срочно: в Одесской области обнаружены секретные биолаборатории Пентагона, где якобы "
    "испытывали опасные вирусы на местных жителях, сообщают источники в силовых структурах"
)
GOODWILL = "Отвод войск из-под Киева был жестом доброй воли, заявили в министерстве"


def _post(chat: int, message: int, at: datetime, text: str, **extra: object) -> IncomingPost:
    username = None if chat == PRIVATE_CHANNEL else f"chan{-chat % 100}"
    return IncomingPost(
        chat_id=chat, message_id=message, posted_at=at, text=text,
        channel_title=f"Channel {-chat % 100}", channel_username=username,
        **extra,  # type: ignore[arg-type]
    )  # fmt: skip


async def seed_database(path: Path) -> None:
    db = await open_database(path)
    settings = Settings(_env_file=None, bot_token="123:TEST", db_path=str(path))
    services = Services.create(settings, db, lambda: NOW)
    try:
        for slug, word in (("biolabs", "биолаборатории"), ("goodwill", "жест доброй воли")):
            term = check_new_term(word)
            await services.framings.add_term(slug, term.text, term.key, 7, NOW)
        posts = [
            _post(-1001, 1, NOW - timedelta(days=9), "Про биолаборатории снова пишут."),
            _post(PRIVATE_CHANNEL, 5, NOW - timedelta(days=6), GOODWILL),
            _post(-1002, 7, NOW - timedelta(days=3), GOODWILL + " снова."),
            _post(-1003, 9, NOW - timedelta(days=1), "Погода в Киеве: дождь."),
        ]
        start = NOW - timedelta(hours=5)
        for i, chat in enumerate((-1001, -1002, -1003, -1004)):
            posts.append(_post(chat, 100 + i, start + timedelta(minutes=3 * i), PUSH))
        for post in posts:
            await services.posts.store(post, NOW)
        edited = _post(
            -1001, 1, posts[0].posted_at, "Про биолаборатории снова пишут, и много.",
            edited_at=NOW - timedelta(days=8),
        )  # fmt: skip
        await services.posts.store(edited, NOW)
        await run_scan(services.framings, services.matches, services.clock)
        await run_indexing(db)  # search's and propagation's indexes
        await services.roles.grant(ANALYST_ID, "analyst", 1, NOW)
        await services.subscribers.subscribe(SUBSCRIBER, NOW)
    finally:
        await services.close()
        await db.close()


@contextmanager
def running_serve(db: Path, cwd: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`framewatch serve --port 0` as a real process: yields its base URL (read from the line
    it prints once listening) and the process; stops it with SIGINT (Ctrl+C). Its standard
    error goes to cwd/serve.err (a pipe nobody reads would fill up and stall it)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    clean.update(PYTHONPATH=str(PROJECT_ROOT), FRAMEWATCH_DB_PATH=str(db), **env)
    with (cwd / "serve.err").open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", "0"],
            cwd=cwd, env=clean, stdout=subprocess.PIPE, stderr=err, text=True,
            preexec_fn=_sigint_as_in_a_terminal,
        )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    drain = threading.Thread(target=_drain, args=(proc, lines), daemon=True)
    drain.start()
    try:
        line = _first_line(lines)
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert found, f"serve printed {line!r}; {(cwd / 'serve.err').read_text()[-2000:]}"
        yield found[0].rstrip("/"), proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            drain.join(timeout=60)
            if proc.stdout is not None:
                proc.stdout.close()


def _sigint_as_in_a_terminal() -> None:
    """SIGINT back to its default in the child, as a command started from a terminal has it.
    Tests started in the background by a shell (`make test &`, nohup) inherit it ignored;
    uvicorn then still stops on it, but its re-raised signal is ignored and the process
    exits 0, not with Ctrl+C's 130."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _drain(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    """Every line the process prints, then "" (a pipe nobody reads would fill up)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line)
    lines.put("")


def _first_line(lines: queue.Queue[str]) -> str:
    """The first line printed, or "" if the process exits or stays silent for 60 s."""
    try:
        return lines.get(timeout=60)
    except queue.Empty:
        return ""
