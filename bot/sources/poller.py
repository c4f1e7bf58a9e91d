"""Poll followed public channels through their web previews: HTTP, paging, backoff, follow.

Each poll reads the newest page, then older pages (?before=<id>) until it reaches a post
stored before, and continues an unfinished backfill (how far back a new follow reaches).
Every page goes through bot.ingest.store_posts (one round trip), so a changed text becomes an edit.
Failures are per channel: 429 (with Retry-After), 5xx, timeouts and unreadable pages back
off exponentially; a channel without a public preview is re-checked once a day. The next
poll time is stored, so the backoff survives a restart.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

import httpx

from bot.clock import Clock
from bot.ingest import store_posts
from bot.sources.preview_fetch import fetch_page
from bot.sources.tme_http import FetchProblem
from bot.sources.webpreview import PreviewPage, to_incoming
from storage.chat_ids import is_synthetic, synthetic_chat_id
from storage.follows import FollowRepository
from storage.models import Follow, IncomingPost, StoreOutcome
from storage.posts import PostRepository

log = logging.getLogger(__name__)

MAX_CONCURRENT_CHANNELS = 3
MAX_NEW_POSTS_PER_POLL = 1_000  # a channel posting more between two polls leaves a gap
BACKFILL_PAGES_PER_POLL = 10  # a deep backfill is spread over polls, gently for t.me
MAX_BACKOFF = timedelta(hours=6)
UNAVAILABLE_RECHECK = timedelta(days=1)
JITTER = 0.1  # up to 10% of a delay, so channels followed together drift apart


@dataclass
class PollReport:
    username: str
    state: str = "ok"
    error: str | None = None
    pages: int = 0
    new: list[IncomingPost] = field(default_factory=list)
    edited: list[IncomingPost] = field(default_factory=list)
    unchanged: int = 0
    other_source: int = 0  # stored by the bot or an import: their text is left alone
    unreadable: int = 0  # message blocks without an id or date
    moved: int = 0  # posts moved from the synthetic id to the real one


class FollowOutcome(StrEnum):
    FOLLOWED = "followed"
    ALREADY = "already"
    UNAVAILABLE = "unavailable"  # no public preview: only the bot as admin can read it
    FAILED = "failed"  # t.me could not be reached or answered an error


@dataclass(frozen=True, slots=True)
class FollowResult:
    outcome: FollowOutcome
    username: str
    title: str = ""
    detail: str = ""
    report: PollReport | None = None
    follow: Follow | None = None


class WebPreviewPoller:
    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        posts: PostRepository,
        follows: FollowRepository,
        clock: Clock,
        *,
        interval: timedelta,
        backfill_posts: int,
        rng: random.Random | None = None,
        max_concurrent: int = MAX_CONCURRENT_CHANNELS,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._posts = posts
        self._follows = follows
        self._clock = clock
        self._interval = interval
        self._backfill = backfill_posts
        self._rng = rng or random.Random()
        self._slots = asyncio.Semaphore(max_concurrent)

    async def fetch(self, username: str, before: int | None = None) -> PreviewPage:
        """One preview page, or FetchProblem saying why not."""
        return await fetch_page(self._client, self._base, username, before, self._clock)

    async def follow(self, username: str, user_id: int | None) -> FollowResult:
        """Follow a channel (a canonical username): fetch its newest page first, so a
        channel without a public preview is refused and nothing is written."""
        existing = await self._follows.get(username)
        if existing is not None:
            return FollowResult(FollowOutcome.ALREADY, username, existing.title, follow=existing)
        try:
            page = await self.fetch(username)
        except FetchProblem as problem:
            outcome = (
                FollowOutcome.UNAVAILABLE
                if problem.state == "unavailable"
                else FollowOutcome.FAILED
            )
            return FollowResult(outcome, username, detail=problem.message)
        now = self._clock()
        chat_id = await self._follows.known_chat_id(username) or synthetic_chat_id(username)
        added = await self._follows.add(
            username=username,
            chat_id=chat_id,
            channel_username=page.posts[0].username if page.posts else username,
            title=page.title,
            user_id=user_id,
            now=now,
            next_poll_at=now,  # the backfill starts at the poll job's next run
            backfill_before=page.older,
            backfill_left=self._backfill - len(page.posts),
        )
        if not added:  # followed meanwhile by someone else
            return FollowResult(
                FollowOutcome.ALREADY,
                username,
                page.title,
                follow=await self._follows.get(username),
            )
        report = PollReport(username)
        if not is_synthetic(chat_id):  # web posts kept from an earlier follow join the real id
            report.moved = await self._follows.adopt(
                username, synthetic_chat_id(username), chat_id, now
            )
        await self._store_page(page, chat_id, page.title, report)
        return FollowResult(FollowOutcome.FOLLOWED, username, page.title, report=report)

    async def poll_due(self) -> list[PollReport]:
        """Poll every channel whose next poll time has come, a few at a time."""
        return await self._poll_many(await self._follows.due(self._clock()))

    async def poll_all(self) -> list[PollReport]:
        """Poll every followed channel now, whatever its schedule (`framewatch poll`)."""
        return await self._poll_many(await self._follows.all())

    async def poll(self, follows: list[Follow]) -> list[PollReport]:
        """Poll these follows now (claimed ones: bot/work_polls.py), a few at a time."""
        return await self._poll_many(follows)

    async def _poll_many(self, follows: list[Follow]) -> list[PollReport]:
        return list(await asyncio.gather(*(self._guarded(f) for f in follows)))

    async def _guarded(self, follow: Follow) -> PollReport:
        async with self._slots:
            try:
                return await self.poll_channel(follow)
            except Exception as exc:  # one channel's failure must never stop the others
                log.exception("polling @%s failed", follow.username)
                report = PollReport(follow.username)
                problem = FetchProblem("error", f"internal error ({type(exc).__name__})")
                await self._record_failure(follow, problem, report)
                return report

    async def poll_channel(self, follow: Follow) -> PollReport:
        report = PollReport(follow.username)
        try:
            chat_id = await self._identity(follow, report)
            await self._read_new_posts(follow, chat_id, report)
            await self._continue_backfill(follow, chat_id, report)
        except FetchProblem as problem:
            await self._record_failure(follow, problem, report)
            return report
        now = self._clock()
        await self._follows.record_poll(
            follow.username,
            now=now,
            next_poll_at=now + self._jittered(self._interval),
            state="ok",
            error=None,
            failures=0,
        )
        return report

    async def _identity(self, follow: Follow, report: PollReport) -> int:
        """The real channel id once storage knows one for this username (the bot joined the
        channel, or its posts were forwarded or imported): the web posts move there."""
        if not is_synthetic(follow.chat_id):
            return follow.chat_id
        known = await self._follows.known_chat_id(follow.username)
        if known is None or is_synthetic(known):
            return follow.chat_id
        now = self._clock()
        report.moved = await self._follows.adopt(follow.username, follow.chat_id, known, now)
        log.info("@%s: moved %d web posts to channel id %s", follow.username, report.moved, known)
        return known

    async def _read_new_posts(self, follow: Follow, chat_id: int, report: PollReport) -> None:
        """Newest page, then older ones, until a post stored before (or the per-poll cap)."""
        known = await self._follows.newest_message_id(chat_id)
        before: int | None = None
        read = 0
        while True:
            page = await self.fetch(follow.username, before)
            await self._store_page(page, chat_id, page.title or follow.title, report)
            read += len(page.posts)
            oldest = min((p.message_id for p in page.posts), default=None)
            if oldest is None or (known is not None and oldest <= known):
                return
            if read >= MAX_NEW_POSTS_PER_POLL:
                log.warning("@%s: over %d new posts since the last poll", follow.username, read)
                return
            if page.older is None or (before is not None and page.older >= before):
                return
            before = page.older

    async def _continue_backfill(self, follow: Follow, chat_id: int, report: PollReport) -> None:
        """Older posts a new follow still has to reach; progress is saved page by page."""
        before, left = follow.backfill_before, follow.backfill_left
        for _ in range(BACKFILL_PAGES_PER_POLL):
            if before is None or left <= 0:
                return
            page = await self.fetch(follow.username, before)
            left -= await self._store_page(page, chat_id, page.title or follow.title, report, left)
            older = page.older
            if not page.posts or older is None or older >= before or left <= 0:
                before = None
            else:
                before = older
            await self._follows.set_backfill(follow.username, before, left)

    async def _store_page(
        self,
        page: PreviewPage,
        chat_id: int,
        title: str,
        report: PollReport,
        limit: int | None = None,
    ) -> int:
        """Store the page's posts (only the newest `limit` of them); returns how many."""
        now = self._clock()
        report.pages += 1
        report.unreadable += page.skipped
        posts = sorted(page.posts, key=lambda p: p.message_id, reverse=True)[:limit]
        stored = await self._follows.stored_sources(chat_id, [p.message_id for p in posts])
        # The bot's and imports' text wins (see the README): those posts are left alone.
        ours = [p for p in posts if stored.get(p.message_id, "web") == "web"]
        report.other_source += len(posts) - len(ours)
        incoming_posts = [to_incoming(post, chat_id, title, now) for post in ours]
        results = await store_posts(self._posts, incoming_posts, now)  # one round trip
        for incoming, result in zip(incoming_posts, results, strict=True):
            if result.outcome is StoreOutcome.NEW:
                report.new.append(incoming)
            elif result.outcome is StoreOutcome.EDITED:
                report.edited.append(incoming)
            else:
                report.unchanged += 1
        return len(posts)

    async def _record_failure(
        self, follow: Follow, problem: FetchProblem, report: PollReport
    ) -> None:
        report.state, report.error = problem.state, problem.message
        failures = follow.failures + 1
        if problem.state == "unavailable":
            delay = UNAVAILABLE_RECHECK
        else:
            delay = min(MAX_BACKOFF, self._interval * 2 ** min(failures - 1, 20))
            delay = max(delay, problem.retry_after or timedelta(0))
        now = self._clock()
        log.warning("@%s: %s; next try in %s", follow.username, problem.message, delay)
        await self._follows.record_poll(
            follow.username,
            now=now,
            next_poll_at=now + self._jittered(delay),
            state=problem.state,
            error=problem.message,
            failures=failures,
        )

    def _jittered(self, delay: timedelta) -> timedelta:
        return delay + delay * self._rng.uniform(0, JITTER)
