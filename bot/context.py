"""Typed application state shared by handlers and jobs (PTB's bot_data)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeAlias

from bot.clock import Clock
from bot.config import Settings
from bot.holder import new_holder
from bot.scan import RulesCache
from bot.sources.shared_client import SharedClient
from storage.backend import Backend
from storage.follows import FollowRepository
from storage.framings import FramingRepository
from storage.inbox import InboxRepository
from storage.matches import MatchRepository
from storage.posts import ChannelRepository, PostRepository
from storage.roles import RoleRepository
from storage.search import SearchRepository
from storage.subscribers import DeliveryRepository, SubscriberRepository

# Only for type hints: the command line builds Services for commands that never talk to
# Telegram or t.me (`framewatch scan`), and importing PTB and httpx cost them 0.3 s.
if TYPE_CHECKING:
    import httpx
    from telegram.ext import CallbackContext, ExtBot

    from bot.sources.poller import WebPreviewPoller


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a handler or job needs; built once by build_application."""

    settings: Settings
    db: Backend
    clock: Clock
    posts: PostRepository
    channels: ChannelRepository
    framings: FramingRepository
    matches: MatchRepository
    search: SearchRepository
    subscribers: SubscriberRepository
    deliveries: DeliveryRepository
    roles: RoleRepository
    inbox: InboxRepository
    follows: FollowRepository
    # The scan and the daily delivery each run from two jobs (their own and the catch-up):
    # one at a time, or two deliveries could both find a subscriber due and send twice.
    scan_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    delivery_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The matcher of the current rules version, shared by the scan job and /explain.
    rules: RulesCache = field(default_factory=RulesCache)
    # The application's one client for t.me (web previews of followed channels).
    web: SharedClient = field(default_factory=SharedClient)
    # This process's name in the leases of shared work (bot/holder.py).
    holder: str = field(default_factory=new_holder)

    @classmethod
    def create(cls, settings: Settings, db: Backend, clock: Clock) -> Services:
        return cls(
            settings=settings,
            db=db,
            clock=clock,
            posts=PostRepository(db),
            channels=ChannelRepository(db),
            framings=FramingRepository(db),
            matches=MatchRepository(db),
            search=SearchRepository(db),
            subscribers=SubscriberRepository(db),
            deliveries=DeliveryRepository(db),
            roles=RoleRepository(db),
            inbox=InboxRepository(db),
            follows=FollowRepository(db),
        )

    async def close(self) -> None:
        """Close what the services opened themselves (not the database: its opener does)."""
        await self.web.aclose()

    def web_poller(
        self, client: httpx.AsyncClient | None = None, rng: random.Random | None = None
    ) -> WebPreviewPoller:
        """A poller of followed channels' web previews, with this application's settings
        and, unless told otherwise, its one t.me client."""
        from bot.sources.poller import WebPreviewPoller

        return WebPreviewPoller(
            client or self.web.get(),
            self.settings.web_preview_url,
            self.posts,
            self.follows,
            self.clock,
            interval=timedelta(seconds=self.settings.poll_interval_seconds),
            backfill_posts=self.settings.backfill_posts,
            rng=rng,
        )


class BotData:
    """PTB creates bot_data with no arguments; build_application binds the services."""

    def __init__(self) -> None:
        self._services: Services | None = None

    def bind(self, services: Services) -> None:
        self._services = services

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("services are not bound: build the app with build_application")
        return self._services


Context: TypeAlias = "CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]"


def services_of(context: Context) -> Services:
    return context.bot_data.services
