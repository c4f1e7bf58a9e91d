"""One leader among several `framewatch run` on one PostgreSQL (issue 12).

The instance that holds storage.pg.leader's advisory lock polls Telegram (or runs the
webhook) and runs the scheduled jobs; the others stand by and try again every RETRY_SECONDS.
The leader checks its lock's connection every HEARTBEAT_SECONDS; if it fails, the lock may
already be another's, so the leader stops (LeadershipLostError) rather than lead twice.
On SQLite bot/single_instance.py's file lock keeps to one process instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.config import ConfigError
from storage.pg.connect import PgConnectError
from storage.pg.leader import LeaderLock, LeaderLockLost

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0  # a standby's attempts: with the server's 20 s, a takeover within 30 s
HEARTBEAT_SECONDS = 5.0


class LeadershipLostError(ConfigError):
    """The leader's lock connection failed: it stopped so that only one instance leads."""


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class Leadership:
    """Wait to lead (`acquire`), then keep checking the lock (`watch`) until `close`."""

    def __init__(
        self,
        url: str,
        retry_seconds: float = RETRY_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.lock = LeaderLock(url)
        self.retry_seconds = retry_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.lost = False

    async def acquire(self, stop: asyncio.Event) -> bool:
        """True once this process leads; False if `stop` is set first. The first attempt's
        connection error (wrong URL, password, server down) is a ConfigError of one line;
        later ones are logged and retried."""
        first, announced = True, False
        while not stop.is_set():
            try:
                if await self.lock.try_acquire():
                    log.info("leading: this instance holds the leader lock on %s", self.lock.where)
                    return True
                if not announced:
                    log.info(
                        "standing by: another FrameWatch leads on %s; trying again every %g s",
                        self.lock.where,
                        self.retry_seconds,
                    )
                    announced = True
            except PgConnectError as exc:
                if first:
                    raise ConfigError(str(exc)) from None
                log.warning("standing by: %s; trying again", exc)
            except LeaderLockLost as exc:
                log.warning("standing by: %s; trying again", exc)
            first = False
            await _pause(stop, self.retry_seconds)
        return False

    async def watch(self, stop: asyncio.Event) -> None:
        """While leading, until `stop`: a failed heartbeat sets `lost` and `stop`."""
        while not stop.is_set():
            await _pause(stop, self.heartbeat_seconds)
            if stop.is_set():
                return
            if not await self.lock.alive():
                log.error(
                    "lost the leader lock's connection to %s: stopping, so that another "
                    "instance can lead",
                    self.lock.where,
                )
                self.lost = True
                stop.set()
                return

    async def close(self) -> None:
        await self.lock.close()
