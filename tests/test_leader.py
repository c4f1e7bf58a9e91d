"""PostgreSQL for the application (issue 12): FRAMEWATCH_DATABASE_URL, and one leader among
several `framewatch run` by an advisory lock on a connection of its own (bot/leader.py,
storage/pg/leader.py). Against the throwaway PostgreSQL of tests/pg_server.py."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import asyncpg
import pytest

from bot.config import ConfigError, load_settings
from bot.database import NotOnPostgresError, open_db, sqlite_only
from bot.leader import Leadership
from storage.db import Database
from storage.pg.leader import LeaderLock
from tests.conftest import TOKEN
from tests.fake_telegram import FakeTelegram, private_message
from tests.test_crash import PROJECT, bot_env

PASSWORD = "hunter2-secret"


def with_password(url: str) -> str:
    """The test server trusts every login: a password in the URL is accepted and ignored,
    which lets the tests check that it never shows."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@", 1)


async def terminate_sessions_of(url: str, pid: int) -> None:
    admin = await asyncpg.connect(url)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def backend_pid(lock: LeaderLock) -> int:
    conn = lock._conn
    assert conn is not None
    return int(conn.get_server_pid())


# ---- the lock ------------------------------------------------------------------------------


async def test_one_holder_at_a_time_and_the_next_gets_it_after_release(pg_url: str) -> None:
    first, second = LeaderLock(pg_url), LeaderLock(pg_url)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert not await second.try_acquire()  # again: still the first's
        assert await first.alive()
        await first.close()
        assert await second.try_acquire()
        assert not await first.try_acquire()  # a new session of the old leader must wait
    finally:
        await first.close()
        await second.close()


async def test_the_lock_is_freed_when_the_holders_session_dies(pg_url: str) -> None:
    first, second = LeaderLock(pg_url), LeaderLock(pg_url)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        await terminate_sessions_of(pg_url, await backend_pid(first))
        assert await second.try_acquire()
        assert not await first.alive()  # the old leader finds out at its next heartbeat
        assert not first.held
    finally:
        await first.close()
        await second.close()


async def test_the_lock_session_gets_keepalives_and_an_idle_timeout(pg_url: str) -> None:
    lock = LeaderLock(pg_url)
    try:
        assert await lock.try_acquire()
        conn = lock._conn
        assert conn is not None
        idle = await conn.fetchval(
            "SELECT setting FROM pg_settings WHERE name = $1", "idle_session_timeout"
        )
        keepalive = await conn.fetchval("SHOW tcp_keepalives_idle")
        assert idle in (None, "20000")  # None: a server before PostgreSQL 14 has no such setting
        assert keepalive == "5"
    finally:
        await lock.close()


# ---- leadership: standing by, taking over, losing it ----------------------------------------


async def test_a_standby_waits_and_takes_over_when_the_leader_ends(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.leader")
    leader = Leadership(pg_url, retry_seconds=0.05)
    standby = Leadership(with_password(pg_url), retry_seconds=0.05)
    stop = asyncio.Event()
    try:
        assert await leader.acquire(stop)
        waiting = asyncio.ensure_future(standby.acquire(stop))
        async with asyncio.timeout(30):
            while "standing by" not in caplog.text:  # noqa: ASYNC110 - a log line, no event
                await asyncio.sleep(0.01)
        assert not waiting.done()
        await leader.close()  # the leader's session ends (as when its process dies)
        async with asyncio.timeout(30):
            assert await waiting
        assert standby.lock.held
        assert PASSWORD not in caplog.text
        assert "postgres:***@" in caplog.text
    finally:
        await leader.close()
        await standby.close()


async def test_a_standby_stops_when_told_to(pg_url: str) -> None:
    leader, standby = Leadership(pg_url), Leadership(pg_url, retry_seconds=0.05)
    stop = asyncio.Event()
    try:
        assert await leader.acquire(asyncio.Event())
        waiting = asyncio.ensure_future(standby.acquire(stop))
        stop.set()
        async with asyncio.timeout(30):
            assert await waiting is False
        assert not standby.lock.held
    finally:
        await leader.close()
        await standby.close()


async def test_a_leader_whose_session_dies_stops(pg_url: str) -> None:
    leader = Leadership(pg_url, heartbeat_seconds=0.05)
    stop = asyncio.Event()
    try:
        assert await leader.acquire(stop)
        watching = asyncio.ensure_future(leader.watch(stop))
        await terminate_sessions_of(pg_url, await backend_pid(leader.lock))
        async with asyncio.timeout(30):
            await watching
        assert stop.is_set()
        assert leader.lost
    finally:
        await leader.close()


async def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    leadership = Leadership(f"postgresql://fw:{PASSWORD}@127.0.0.1:1/fw")
    with pytest.raises(ConfigError) as caught:
        await leadership.acquire(asyncio.Event())
    assert "cannot reach PostgreSQL at postgresql://fw:***@127.0.0.1:1/fw" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    await leadership.close()


# ---- the setting and opening the database ------------------------------------------------------


def test_the_setting_takes_postgresql_urls_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAMEWATCH_DATABASE_URL", f"mysql://fw:{PASSWORD}@db/fw")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("FRAMEWATCH_DATABASE_URL: expected a PostgreSQL URL")
    assert PASSWORD not in message and "\n" not in message

    for scheme in ("postgresql", "postgres"):
        url = f"{scheme}://fw:{PASSWORD}@db/fw"
        monkeypatch.setenv("FRAMEWATCH_DATABASE_URL", url)
        settings = load_settings()
        assert settings.on_postgres
        assert settings.database() == url
        assert settings.database("other.db") == "other.db"  # an explicit file stays a file
        assert PASSWORD in settings.secrets()  # so the log filter hides it
        assert PASSWORD not in repr(settings)


def test_without_the_setting_sqlite_stays(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FRAMEWATCH_DATABASE_URL", "  ")
    monkeypatch.setenv("FRAMEWATCH_DB_PATH", str(tmp_path / "fw.db"))
    settings = load_settings()
    assert not settings.on_postgres
    assert settings.database() == str(tmp_path / "fw.db")


async def test_sqlite_only_code_says_so_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    pg = await open_db(with_password(pg_url))
    try:
        with pytest.raises(NotOnPostgresError) as caught:
            sqlite_only(pg, "trends")
        assert str(caught.value).startswith(
            "trends works on the SQLite database only so far, not yet on PostgreSQL"
        )
        assert PASSWORD not in str(caught.value)
    finally:
        await pg.close()
    lite = await open_db(str(tmp_path / "fw.db"))
    try:
        assert isinstance(lite, Database)
        assert sqlite_only(lite, "trends") is lite
    finally:
        await lite.close()


async def command(url: str, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    env |= {"FRAMEWATCH_DATABASE_URL": url, "FRAMEWATCH_DB_PATH": str(tmp_path / "no.db")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(PROJECT)},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_commands_run_on_postgresql_and_sqlite_only_ones_say_so(
    pg_url: str, tmp_path: Path
) -> None:
    url = with_password(pg_url)
    code, out, err = await command(url, tmp_path, "framings", "list")
    assert (code, err) == (0, "")
    assert "rules version 0" in out
    code, out, err = await command(url, tmp_path, "serve")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "framewatch: the browser view reads a SQLite file; with PostgreSQL use Metabase/"
        "Superset/Grafana on the database (or unset FRAMEWATCH_DATABASE_URL to serve "
        "FRAMEWATCH_DB_PATH)"
    ]
    # Trends, propagation and the indexes run on PostgreSQL too.
    for args in (("trends",), ("index",), ("scan",), ("propagation",)):
        code, out, err = await command(url, tmp_path, *args)
        assert code == 0 and "Traceback" not in err, (args, err)
        assert PASSWORD not in out + err
    assert not (tmp_path / "no.db").exists()  # nothing touched the SQLite file
    code, out, err = await command(f"postgresql://fw:{PASSWORD}@127.0.0.1:1/fw", tmp_path, "audit")
    assert code == 2
    assert len(err.splitlines()) == 1 and PASSWORD not in err


# ---- two `framewatch run` processes -----------------------------------------------------------


async def start_run(
    tg: FakeTelegram, tmp_path: Path, url: str, name: str
) -> asyncio.subprocess.Process:
    log = (tmp_path / f"{name}.log").open("wb")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=bot_env(tg, tmp_path / f"{name}.db") | {"FRAMEWATCH_DATABASE_URL": url},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    finally:
        log.close()


def log_has(path: Path, text: str) -> bool:
    return text in path.read_text(errors="replace")


async def wait_for_log(path: Path, text: str) -> None:
    """Until another process's log file has `text` (a file has no event to wait on)."""
    async with asyncio.timeout(60):
        while not await asyncio.to_thread(log_has, path, text):  # noqa: ASYNC110
            await asyncio.sleep(0.1)


async def test_a_standby_run_takes_over_when_the_leader_is_killed(
    pg_url: str, tmp_path: Path, tg: FakeTelegram
) -> None:
    url = with_password(pg_url)
    first = await start_run(tg, tmp_path, url, "first")
    second: asyncio.subprocess.Process | None = None
    try:
        await wait_for_log(tmp_path / "first.log", "leading: this instance holds the leader lock")
        await tg.wait_for_request("getUpdates", timeout=60)
        second = await start_run(tg, tmp_path, url, "second")
        await wait_for_log(tmp_path / "second.log", "standing by: another FrameWatch leads")
        tg.push_update(private_message(5, "/help"))
        await tg.wait_for_sent(1, chat_id=5, timeout=30)  # the leader answers

        first.kill()  # SIGKILL: no goodbye; PostgreSQL frees the lock with the session
        await first.wait()
        await wait_for_log(tmp_path / "second.log", "leading: this instance holds the leader lock")
        tg.push_update(private_message(5, "/help"))
        await tg.wait_for_sent(2, chat_id=5, timeout=30)  # the successor answers
        assert tg.conflicts == 0  # never two pollers at once
        second.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            assert await second.wait() == 0
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
    for name in ("first", "second"):
        text = (tmp_path / f"{name}.log").read_text(errors="replace")
        assert PASSWORD not in text and TOKEN not in text
        assert "Traceback" not in text
        assert not (tmp_path / f"{name}.db").exists()  # PostgreSQL only
