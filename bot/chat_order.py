"""Updates of one chat one at a time, in order; different chats side by side, bounded.

Why not PTB's concurrent_updates/BaseUpdateProcessor: it governs only updates that go
through Application.update_queue, and FrameWatch dispatches from its own durable inbox
(bot/inbox.py). Its process_update also takes a global slot *before* the subclass could
wait for the chat, so a busy channel's queued posts would hold every slot while waiting
for each other and stall everyone else. Here the chat's turn comes first, then a slot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class ChatOrder:
    def __init__(self, max_concurrent: int = 16) -> None:
        self._slots = asyncio.Semaphore(max_concurrent)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}  # tasks holding or awaiting each chat's lock

    async def run(self, chat: int | None, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` after every earlier `run` of the same chat has finished.

        Callers keep order by calling `run` in update order: asyncio.Lock wakes waiters
        first come, first served. `chat` None (an update without a chat) waits for no one."""
        if chat is None:
            async with self._slots:
                return await work()
        lock = self._locks.setdefault(chat, asyncio.Lock())
        self._waiting[chat] = self._waiting.get(chat, 0) + 1
        try:
            async with lock, self._slots:
                return await work()
        finally:
            self._waiting[chat] -= 1
            if not self._waiting[chat]:  # forget idle chats: the dict stays small
                del self._waiting[chat], self._locks[chat]

    @property
    def chats(self) -> int:
        """How many chats have work running or waiting (for tests and logs)."""
        return len(self._locks)
