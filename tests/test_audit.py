"""The audit log is read: /audit for admins and `framewatch audit`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from storage.db import open_backend
from storage.framings import FramingRepository
from tests.backends import cli_env, sqlite_only_because
from tests.cli import run_framewatch
from tests.conftest import ADMIN, MODERATOR, STRANGER, Harness

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


async def test_admins_read_who_changed_what(harness: Harness) -> None:
    await harness.grant_roles()
    await harness.command(MODERATOR, "/watch feint tactical <b>feint</b>")
    await harness.command(MODERATOR, "/unwatch feint")
    replies = await harness.command(ADMIN, "/audit")
    text = "\n".join(replies)
    assert "Audit log" in text
    lines = [line for line in text.split("\n") if f"· {MODERATOR} ·" in line]
    assert len(lines) == 2  # newest first: the removal, then the term
    assert "unwatch" in lines[0] and "feint (whole framing, 1 terms)" in lines[0]
    assert "watch" in lines[1] and "feint: tactical &lt;b&gt;feint&lt;/b&gt;" in lines[1]  # escaped

    newest = await harness.command(ADMIN, "/audit 1")
    assert "unwatch" in newest[0] and "tactical" not in newest[0]


async def test_audit_is_for_admins_and_says_how_to_use_it(harness: Harness) -> None:
    assert "empty" in (await harness.command(ADMIN, "/audit"))[0]
    await harness.grant_roles()
    assert "only" in (await harness.command(MODERATOR, "/audit"))[0].lower()
    assert "only" in (await harness.command(STRANGER, "/audit"))[0].lower()
    assert "Usage: /audit" in (await harness.command(ADMIN, "/audit lots"))[0]
    assert "Usage: /audit" in (await harness.command(ADMIN, "/audit 0"))[0]
    assert "/audit [n]" in "\n".join(await harness.command(ADMIN, "/help"))


# Portable (it passed on both), but two processes of 4-5 s: /audit above reads the same log
# through the same repository on both databases.
@sqlite_only_because("2 slow CLI runs; /audit reads the same log on both")
async def test_the_command_line_prints_the_audit_log(tmp_path: Path, backend_target: str) -> None:
    db = await open_backend(backend_target)
    try:
        framings = FramingRepository(db)
        await framings.add_term("feint", "tactical feint", "tactical feint", 7, NOW)
        await framings.add_term("feint", "bad\x1b[31m", "bad", None, NOW)
    finally:
        await db.close()

    done = run_framewatch("audit", cwd=tmp_path, **cli_env(backend_target))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "· system · watch · feint: bad" in lines[0]
    assert "\x1b" not in done.stdout  # user text is cleaned for the terminal
    assert "· 7 · watch · feint: tactical feint" in lines[1]
    assert lines[-1] == "2 entries."

    refused = run_framewatch("audit", "--limit", "0", cwd=tmp_path, **cli_env(backend_target))
    assert refused.returncode == 2 and "--limit" in refused.stderr
