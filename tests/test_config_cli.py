"""Settings parsing, the `framewatch` command line (as real subprocesses) and log redaction."""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
from collections.abc import Iterator
from datetime import time
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.logs import REDACTED, RedactingFormatter, redact
from tests.cli import run_framewatch

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TOKEN = "7654321098:AAH-very-secret-token-value_xyz"


# --- Settings ------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No FRAMEWATCH_* variables from the developer's shell, and no .env in the cwd."""
    for name in list(os.environ):
        if name.startswith("FRAMEWATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def settings(**values: object) -> Settings:
    fields: dict[str, object] = {"bot_token": TOKEN, "db_path": "unused.db", **values}
    return Settings(_env_file=None, **fields)


def test_admin_ids_from_a_comma_separated_list() -> None:
    assert settings(admin_ids="1, 2,3").admin_ids == frozenset({1, 2, 3})
    assert settings(admin_ids="").admin_ids == frozenset()
    assert settings(admin_ids=" 42 ;43 ,").admin_ids == frozenset({42, 43})
    assert settings().admin_ids == frozenset()


def test_settings_from_the_environment(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAMEWATCH_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("FRAMEWATCH_ADMIN_IDS", "1, 2,3")
    monkeypatch.setenv("FRAMEWATCH_DIGEST_TIME", "07:30")
    monkeypatch.setenv("FRAMEWATCH_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("FRAMEWATCH_LOG_LEVEL", "debug")

    loaded = load_settings(_env_file=None)

    assert loaded.admin_ids == frozenset({1, 2, 3})
    assert loaded.digest_time == time(7, 30)
    assert loaded.zone.key == "Europe/Berlin"
    assert loaded.log_level == "DEBUG"
    assert loaded.token() == TOKEN
    assert TOKEN not in repr(loaded)  # a stray print(settings) does not leak it


def test_defaults(clean_env: Path) -> None:
    loaded = load_settings(_env_file=None)
    assert loaded.digest_time == time(9, 0)
    assert loaded.timezone == "Europe/Kyiv"
    assert loaded.bot_token is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FRAMEWATCH_ADMIN_IDS", "1, two, 3"),
        ("FRAMEWATCH_ADMIN_IDS", "1.5"),
        ("FRAMEWATCH_ADMIN_IDS", "@someone"),
        ("FRAMEWATCH_DIGEST_TIME", "25:00"),
        ("FRAMEWATCH_DIGEST_TIME", "9am"),
        ("FRAMEWATCH_DIGEST_TIME", "09:60"),
        ("FRAMEWATCH_DIGEST_TIME", "9:5"),
        ("FRAMEWATCH_TIMEZONE", "Mars/Base"),
        ("FRAMEWATCH_TIMEZONE", "../../etc/passwd"),
        ("FRAMEWATCH_SCAN_INTERVAL_SECONDS", "5"),
        ("FRAMEWATCH_SCAN_INTERVAL_SECONDS", "often"),
        ("FRAMEWATCH_LOG_LEVEL", "LOUD"),
    ],
)
def test_malformed_setting_names_the_variable_and_hides_the_token(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("FRAMEWATCH_BOT_TOKEN", TOKEN)
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)

    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message
    assert TOKEN not in message
    assert caught.value.__suppress_context__  # pydantic's text (with inputs) is not chained


@pytest.mark.parametrize("token", [None, "", "   "])
def test_missing_token(token: str | None) -> None:
    empty = Settings(_env_file=None, bot_token=token, db_path="unused.db")
    with pytest.raises(ConfigError, match="FRAMEWATCH_BOT_TOKEN"):
        empty.token()


def test_token_is_stripped() -> None:
    assert settings(bot_token=f"  {TOKEN}\n").token() == TOKEN


# --- the command line ----------------------------------------------------------------------


def run_cli(
    *args: str, cwd: Path, db: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return run_framewatch(*args, cwd=cwd, db=db, **env)


def test_top_level_help(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Watch Telegram channels" in result.stdout
    for command in ("run", "scan", "search", "demo"):
        assert f"    {command} " in result.stdout
    assert "FRAMEWATCH_" in result.stdout


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("run", "Run the bot"),
        ("scan", "One scan pass now"),
        ("search", "Full-text search"),
        ("demo", "sample posts"),
    ],
)
def test_subcommand_help(tmp_path: Path, command: str, says: str) -> None:
    result = run_cli(command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: framewatch {command}")
    assert says in " ".join(result.stdout.split())
    assert not (tmp_path / "framewatch.db").exists()  # help touches no database


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("frobnicate", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_without_token_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run_cli("run", cwd=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "FRAMEWATCH_BOT_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_run_with_bad_digest_time_names_the_variable(tmp_path: Path) -> None:
    result = run_cli("run", cwd=tmp_path, FRAMEWATCH_DIGEST_TIME="25:00")

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "FRAMEWATCH_DIGEST_TIME" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["run"], ["scan"], ["search", "word"]])
def test_token_never_printed_on_config_error(tmp_path: Path, command: list[str]) -> None:
    result = run_cli(
        *command, cwd=tmp_path, FRAMEWATCH_BOT_TOKEN=TOKEN, FRAMEWATCH_TIMEZONE="Mars/Base"
    )

    assert result.returncode == 2
    assert "FRAMEWATCH_TIMEZONE" in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN.split(":")[1] not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def closed_port() -> int:
    """A local TCP port nothing listens on: connecting to it fails at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("given", [TOKEN, f" {TOKEN} ", f"{TOKEN}\n"])
def test_token_never_logged_when_the_bot_api_is_unreachable(tmp_path: Path, given: str) -> None:
    """Debug logs print the Bot API URL, which holds the token (as Settings.token() returns
    it, stripped of surrounding whitespace); the redaction must catch it in every form."""
    result = run_cli(
        "run",
        cwd=tmp_path,
        FRAMEWATCH_BOT_TOKEN=given,
        FRAMEWATCH_LOG_LEVEL="DEBUG",
        FRAMEWATCH_API_BASE_URL=f"http://127.0.0.1:{closed_port()}/bot",
    )

    output = result.stdout + result.stderr
    leaks = [line for line in output.splitlines() if TOKEN.split(":")[1] in line]
    assert leaks == []
    assert REDACTED in result.stderr  # the debug log did print the URL, redacted
    assert result.returncode == 1
    assert "FRAMEWATCH_API_BASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One `framewatch demo` run; yields its database and what it printed."""
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "demo.db"
    result = run_cli("demo", "--db", str(db), cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return db, result.stdout


def test_demo_prints_a_digest_with_links(demo: tuple[Path, str]) -> None:
    db, out = demo
    assert db.exists()
    assert "FrameWatch digest" in out
    assert "https://t.me/" in out
    assert "https://t.me/c/" in out  # a private channel's post


def test_demo_recreates_its_database(tmp_path: Path) -> None:
    db = tmp_path / "again.db"
    first = run_cli("demo", "--db", str(db), cwd=tmp_path)
    second = run_cli("demo", "--db", str(db), cwd=tmp_path)
    assert first.returncode == second.returncode == 0
    # A fresh database each time: the second run loads and flags exactly as much again.
    assert first.stdout.splitlines()[0] == second.stdout.splitlines()[0]
    assert "Loaded 0 framings" not in second.stdout


def test_search_the_demo_database(demo: tuple[Path, str]) -> None:
    db, _ = demo
    result = run_cli("search", "доброй воли", cwd=db.parent, db=db)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    hits = [line for line in out.splitlines() if "https://t.me/" in line]
    assert len(hits) >= 2
    assert "[доброй] [воли]" in out.lower()
    assert out.strip().endswith(f"{len(hits)} result(s).")


def test_search_phrase_and_limit_in_the_demo_database(demo: tuple[Path, str]) -> None:
    db, _ = demo
    result = run_cli("search", '"жест доброй воли"', "--limit", "1", cwd=db.parent, db=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("https://t.me/") == 1
    assert result.stdout.strip().endswith("1 result(s).")


@pytest.mark.parametrize("query", ['"unclosed', "AND", "NEAR(a b, x", "since:2024-02-30 a"])
def test_search_with_malformed_query_explains_and_exits_2(
    demo: tuple[Path, str], query: str
) -> None:
    db, _ = demo
    result = run_cli("search", query, cwd=db.parent, db=db)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "cannot read the query" in result.stderr
    assert '"a phrase"' in result.stderr  # says how to write one
    assert result.stdout == ""


def test_scan_after_demo_finds_nothing_new(demo: tuple[Path, str]) -> None:
    db, _ = demo
    result = run_cli("scan", cwd=db.parent, db=db)

    assert result.returncode == 0, result.stderr
    assert "Scanned 0 posts" in result.stdout
    assert "applied 0 new terms" in result.stdout
    assert "0 new matches" in result.stdout
    assert "https://t.me/" not in result.stdout


def test_scan_of_an_empty_database(tmp_path: Path) -> None:
    result = run_cli("scan", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Scanned 0 posts" in result.stdout
    assert (tmp_path / "framewatch.db").exists()


# --- logs ----------------------------------------------------------------------------------


@pytest.fixture
def captured_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s", [TOKEN, ""]))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_redacting_formatter_hides_the_secret_in_messages(
    captured_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured_log
    logger.info("HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
    logger.warning(f"inline {TOKEN} too")

    out = stream.getvalue()
    assert TOKEN not in out
    assert f"https://api.telegram.org/bot{REDACTED}/getUpdates" in out
    assert f"inline {REDACTED} too" in out


def test_redacting_formatter_hides_the_secret_in_tracebacks(
    captured_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured_log
    url = f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    try:
        raise ConnectionError(f"cannot reach {url}")
    except ConnectionError:
        logger.exception("request failed")

    out = stream.getvalue()
    assert "Traceback (most recent call last)" in out
    assert "ConnectionError: cannot reach https://api.telegram.org/bot[REDACTED]/sendMessage" in out
    assert TOKEN not in out


def test_redact_ignores_empty_secrets() -> None:
    assert redact("nothing secret", ["", ""]) == "nothing secret"
    assert redact(f"a {TOKEN} b {TOKEN}", [TOKEN]) == f"a {REDACTED} b {REDACTED}"
