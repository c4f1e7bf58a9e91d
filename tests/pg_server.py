"""A throwaway PostgreSQL server for the tests: initdb into a temporary folder (in /dev/shm
where there is one, see _parent_folder), postgres on 127.0.0.1 at a free port (and a Unix
socket in that folder), fsync off; stopped and removed at the end of the session. Each test
gets a database of its own: empty (`pg_url`), or migrated (`pg_migrated_url`), a copy of a
template database migrated once per session (`CREATE DATABASE ... TEMPLATE`: median 0.04 s
where creating and migrating anew takes 0.08 s, on a quiet machine).

The binaries are found on PATH, else in /usr/lib/postgresql/<version>/bin (Debian's
package). initdb and postgres refuse to run as root, and CI runs as root: then they run as
the unprivileged user `postgres` (which the Debian package creates), owning the folder.

No server: the tests that need one are skipped with the reason, except under CI (CI set),
where they fail: CI must never be a machine that silently skips them.
"""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

SERVICE_USER = "postgres"  # the unprivileged user the server runs as when we are root
START_TIMEOUT = 60  # seconds pg_ctl waits for the server to accept connections
MEMORY_FOLDER = Path("/dev/shm")  # tmpfs on Linux
MEMORY_ROOM = 2 * 1024**3  # bytes free there to use it (a module's server took 63 MB here)
TEMPLATE = "fw_template"  # the migrated database every `pg_migrated_url` is copied from
_databases = itertools.count(1)


class NoServer(Exception):
    """Why no throwaway server could be started."""


@dataclass(frozen=True)
class PgServer:
    folder: Path
    port: int
    bin_dir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


def find_bin_dir() -> Path:
    on_path = shutil.which("pg_ctl")
    candidates = [Path(on_path).parent] if on_path else []
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += [Path(p) for p in versions]
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise NoServer(
        "no PostgreSQL binaries (initdb, pg_ctl, postgres) on PATH or in "
        "/usr/lib/postgresql/*/bin: install the postgresql package"
    )


def _as_service_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise NoServer(
            f"running as root and there is no user {SERVICE_USER!r} to run "
            "PostgreSQL as (postgres refuses root)"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise NoServer("running as root and runuser is missing (postgres refuses root)")
    return [runuser, "-u", SERVICE_USER, "--", *command]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(
        _as_service_user(command), capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise NoServer(f"{what} failed: {' / '.join(tail) or done.returncode}")


def _parent_folder(in_memory: bool) -> str | None:
    """/dev/shm (tmpfs) for the tests' server, else the system's temporary folder. On a disk
    shared with busy neighbours, the kernel's writeback throttling made every CREATE
    DATABASE (8 MB written) take 0.5-0.9 s instead of 0.03-0.05 s (median of 10 each,
    measured on the shared 2-core machine at load 5): fsync=off does not avoid it, tmpfs
    does. Only with room to spare: a container's /dev/shm is often 64 MB."""
    if not (in_memory and MEMORY_FOLDER.is_dir() and os.access(MEMORY_FOLDER, os.W_OK | os.X_OK)):
        return None
    room = os.statvfs(MEMORY_FOLDER)
    return str(MEMORY_FOLDER) if room.f_bavail * room.f_frsize >= MEMORY_ROOM else None


def start_server(*, in_memory: bool = False) -> PgServer:
    """A new server; in_memory puts its files in /dev/shm where there is one (the tests;
    the benches keep theirs on disk)."""
    bin_dir = find_bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="framewatch-pg-", dir=_parent_folder(in_memory)))
    try:
        if os.geteuid() == 0:
            _as_service_user(["true"])  # NoServer now if there is no one to run as
            entry = pwd.getpwnam(SERVICE_USER)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        data = folder / "data"
        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            "initdb",
        )
        for attempt in range(3):
            port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                _run(
                    [
                        str(bin_dir / "pg_ctl"),
                        "-D",
                        str(data),
                        "-l",
                        str(folder / "log"),
                        "-o",
                        options,
                        "-w",
                        "-t",
                        str(START_TIMEOUT),
                        "start",
                    ],
                    "pg_ctl start",
                )
                return PgServer(folder, port, bin_dir)
            except NoServer:
                if attempt == 2:  # the port may have been taken between choosing and binding
                    raise
        raise AssertionError("unreachable")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def stop_server(server: PgServer) -> None:
    try:
        subprocess.run(
            _as_service_user(
                [
                    str(server.bin_dir / "pg_ctl"),
                    "-D",
                    str(server.folder / "data"),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ]
            ),
            capture_output=True,
            timeout=60,
            check=False,
        )
    finally:
        shutil.rmtree(server.folder, ignore_errors=True)


def _unavailable(reason: str) -> None:
    message = f"no throwaway PostgreSQL: {reason}"
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{message} (CI is set: CI must be able to run the PostgreSQL tests)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        server = start_server(in_memory=True)
    except (NoServer, OSError, subprocess.SubprocessError) as exc:
        _unavailable(str(exc))
        raise AssertionError("unreachable") from exc
    try:
        yield server
    finally:
        stop_server(server)


async def create_database(url: str, name: str) -> None:
    """CREATE DATABASE name on the server at url (the tests' and the benches' way)."""
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def _migrate_template(server: PgServer) -> None:
    from storage.db import open_backend  # the application's own migrations, once

    await create_database(server.url(), TEMPLATE)
    database = await open_backend(server.url(TEMPLATE))
    await database.close()  # no session may stay on a template while it is copied


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> str:
    """The name of a database with every migration applied, made once per session. Made on a
    thread of its own: asyncio.run here would unset the event loop of the test asking."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, _migrate_template(pg_server)).result()
    return TEMPLATE


async def _drop_database(server: PgServer, name: str) -> None:
    admin = await asyncpg.connect(server.url())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _new_name() -> str:
    return f"fw_test_{os.getpid()}_{next(_databases)}"


@pytest.fixture
async def pg_url(pg_server: PgServer) -> AsyncIterator[str]:
    """The URL of a new, empty database for this test (dropped afterwards)."""
    name = _new_name()
    await create_database(pg_server.url(), name)
    try:
        yield pg_server.url(name)
    finally:
        await _drop_database(pg_server, name)


@pytest.fixture
async def pg_migrated_url(pg_server: PgServer, pg_template: str) -> AsyncIterator[str]:
    """The URL of a new database with every migration applied, copied from the session's
    template (dropped afterwards)."""
    name = _new_name()
    admin = await asyncpg.connect(pg_server.url())
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    finally:
        await admin.close()
    try:
        yield pg_server.url(name)
    finally:
        await _drop_database(pg_server, name)
