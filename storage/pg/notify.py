"""LISTEN on PostgreSQL: a session of its own that hands each notification's payload to a
callback (the inbox's saves notify at commit: storage/inbox.py INBOX_CHANNEL).

A notification sent while no session listens is gone for good: after a (re)connect the
caller looks at everything pending once, and polls besides, so a lost one only delays.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from storage.pg.connect import PgConnectError, connect

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 5.0


class NotifyListener:
    def __init__(self, url: str, channel: str, on_payload: Callable[[str], None]) -> None:
        self._url = url
        self._channel = channel
        self._on_payload = on_payload
        self._conn: asyncpg.Connection | None = None

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def ensure(self) -> bool:
        """Listen if not listening (the session may have ended). True when it starts
        listening now: notifications sent before may have been missed."""
        if self.listening:
            return False
        self._drop()
        try:
            conn = await connect(self._url)
        except PgConnectError as exc:
            log.warning("cannot listen for new updates (%s); polling meanwhile", exc)
            return False
        try:
            await conn.add_listener(self._channel, self._deliver)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("cannot listen for new updates (%s); polling meanwhile", exc)
            conn.terminate()
            return False
        self._conn = conn
        return True

    def _deliver(
        self,
        _conn: asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any],
        _pid: int,
        _channel: str,
        payload: object,
    ) -> None:
        self._on_payload(str(payload))

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), CLOSE_TIMEOUT)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn.terminate()
