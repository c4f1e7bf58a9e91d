"""Group commit of a leased fan-out's progress (bot/fanout.py).

Every sender waits until its row's new state is written before it goes on (the in-flight
mark before a send, the count after it), exactly as with one commit per message. But the
senders that arrive while a commit runs share the next one, in one statement per period
(storage.delivery_leases DeliveryLeases.record): commits stop being the pace of a fan-out.
Each write is fenced by the lease; a sender learns whether its row was still its own.
"""

from __future__ import annotations

import asyncio

from bot.context import Services
from storage.delivery_leases import Progress


class Journal:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._waiting: list[tuple[Progress, asyncio.Future[bool]]] = []
        self._lock = asyncio.Lock()

    async def write(self, update: Progress) -> bool:
        """Write `update` (with whatever else is waiting); True if this process still held
        the row, False if another took it over (then send nothing more of it)."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((update, done))
        async with self._lock:
            if not done.done():  # no commit that ran while we waited took ours along
                await self._commit()
        return done.result()

    async def _commit(self) -> None:
        batch, self._waiting = self._waiting, []
        services = self._services
        try:
            written = await services.deliveries.record(
                services.holder, [u for u, _ in batch], services.clock()
            )
        except Exception as exc:
            # Nobody's state is known to be written: every sender of the batch stops.
            for _, done in batch:
                done.set_exception(exc)
            return
        for update, done in batch:
            done.set_result(update.key in written)
