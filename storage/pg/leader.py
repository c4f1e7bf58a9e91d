"""The leader lock of several `framewatch run` on one PostgreSQL: a session-level advisory
lock held on a connection of its own for the leader's life.

PostgreSQL releases the lock when that session ends, however the process ends. So that a
leader whose machine vanished or whose process hangs is noticed, the session gets TCP
keepalives (a dead peer is found in about 20 s) and an idle_session_timeout (PostgreSQL 14+):
a leader that stops sending its heartbeat (`alive`) loses the session, and the lock, after
IDLE_TIMEOUT seconds.
"""

from __future__ import annotations

import asyncio

import asyncpg

from storage.pg.connect import connect, masked_url

LEADER_KEY = 0x46574C44  # "FWLD": one key for every FrameWatch on a database
IDLE_TIMEOUT = 20  # seconds without a statement after which PostgreSQL ends the session
CHECK_TIMEOUT = 5.0  # seconds a heartbeat may take before the session counts as lost
SESSION_SETTINGS = (
    ("tcp_keepalives_idle", "5"),
    ("tcp_keepalives_interval", "5"),
    ("tcp_keepalives_count", "3"),
    ("idle_session_timeout", f"{IDLE_TIMEOUT}s"),
)


class LeaderLockLost(Exception):
    """The lock's connection failed: whoever held the lock holds it no longer."""


class LeaderLock:
    """pg_try_advisory_lock(LEADER_KEY) on a dedicated connection (not from any pool)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: asyncpg.Connection | None = None
        self.held = False

    @property
    def where(self) -> str:
        return masked_url(self._url)

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it. PgConnectError if the server cannot be reached
        or refuses us; LeaderLockLost if the connection fails on the way."""
        if self._conn is None or self._conn.is_closed():
            self._conn = await connect(self._url)
            await self._statement(
                "SELECT set_config(s.name, v.value, false) FROM unnest($1::text[], $2::text[])"
                " AS v(name, value) JOIN pg_settings s ON s.name = v.name",
                [name for name, _ in SESSION_SETTINGS],
                [value for _, value in SESSION_SETTINGS],
            )
        self.held = bool(await self._statement("SELECT pg_try_advisory_lock($1)", LEADER_KEY))
        return self.held

    async def alive(self) -> bool:
        """The heartbeat: True while the session (and with it a held lock) lives."""
        if self._conn is None or self._conn.is_closed():
            self._conn, self.held = None, False
            return False
        try:
            return bool(await self._statement("SELECT 1"))
        except LeaderLockLost:
            return False

    async def close(self) -> None:
        """End the session: PostgreSQL releases the lock with it."""
        conn, self._conn, self.held = self._conn, None, False
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), CHECK_TIMEOUT)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn.terminate()

    async def _statement(self, sql: str, *args: object) -> object:
        assert self._conn is not None
        try:
            # fetch, not fetchval: that reads one row, and the settings are one row each.
            rows = await self._conn.fetch(sql, *args, timeout=CHECK_TIMEOUT)
            return rows[0][0] if rows else None
        except (
            OSError,
            TimeoutError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,  # a session the server ended while idle
        ) as exc:
            conn, self._conn, self.held = self._conn, None, False
            conn.terminate()
            raise LeaderLockLost(
                f"{self.where}: the leader lock's connection failed ({exc})"
            ) from None
