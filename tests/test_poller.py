"""The web-preview poller against a local t.me stand-in (tests/fixtures/tme_s/server.py) and a
real database, SQLite and PostgreSQL (tests.backends.any_db): following, paging back, edits,
identity, HTTP errors, timeouts, backoff."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from bot.sources.poller import (
    BACKFILL_PAGES_PER_POLL,
    MAX_BACKOFF,
    UNAVAILABLE_RECHECK,
    WebPreviewPoller,
)
from bot.sources.tme_http import NO_POSTS, NOT_PUBLIC, UNREADABLE, open_client
from storage.backend import Backend
from storage.chat_ids import is_synthetic, synthetic_chat_id
from storage.follows import FollowRepository
from storage.models import IncomingPost
from storage.posts import ChannelRepository, PostRepository
from tests.backends import is_sqlite, sqlite_only
from tests.conftest import SHARED_DATA, FakeClock
from tests.counting_db import CountingDatabase
from tests.fixtures.tme_s.server import FIXTURES, Reply, TmeServer, render_page

INTERVAL = timedelta(seconds=600)


class NoJitter(random.Random):
    """Jitter off, so the tests can name exact next-poll times."""

    def uniform(self, a: float, b: float) -> float:
        return a


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """Every test here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


@pytest.fixture
async def tme() -> AsyncIterator[TmeServer]:
    async with TmeServer() as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with open_client(timeout_seconds=2.0) as http:
        yield http


def poller_for(
    tme: TmeServer,
    db: Backend,
    client: httpx.AsyncClient,
    clock: FakeClock,
    backfill: int = 200,
) -> WebPreviewPoller:
    return WebPreviewPoller(
        client,
        tme.base_url,
        PostRepository(db),
        FollowRepository(db),
        clock,
        interval=INTERVAL,
        backfill_posts=backfill,
        rng=NoJitter(),
    )


async def stored_ids(db: Backend, chat_id: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT message_id FROM posts WHERE chat_id = ? ORDER BY message_id", (chat_id,)
    )
    return [r[0] for r in rows]


# --- following and paging --------------------------------------------------------------------


async def test_follow_reads_the_newest_page_then_backfills_page_by_page(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    tme.channel("FW_Paged_Channel", "Paged", page_size=10).add(*range(1, 46))
    poller = poller_for(tme, db, client, clock, backfill=25)

    result = await poller.follow("fw_paged_channel", user_id=2)

    assert (result.outcome, result.title) == ("followed", "Paged")
    assert result.report is not None and len(result.report.new) == 10
    follows = FollowRepository(db)
    follow = await follows.get("fw_paged_channel")
    assert follow is not None and follow.chat_id == synthetic_chat_id("fw_paged_channel")
    assert (follow.backfill_before, follow.backfill_left) == (36, 15)
    assert await stored_ids(db, follow.chat_id) == list(range(36, 46))

    (report,) = await poller.poll_due()  # due at once: the backfill starts

    assert (report.state, len(report.new), report.pages) == ("ok", 15, 3)
    assert await stored_ids(db, follow.chat_id) == list(range(21, 46))  # 25 in all
    assert [r.before for r in tme.requests] == [None, None, 36, 26]
    after = await follows.get("fw_paged_channel")
    assert after is not None
    assert (after.backfill_before, after.backfill_left, after.state) == (None, 0, "ok")
    assert after.next_poll_at == clock.now + INTERVAL
    assert await poller.poll_due() == []  # not due again before its interval


async def test_a_poll_reads_new_posts_back_to_the_stored_ones_only(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    channel = tme.channel("fw_busy_channel", "Busy", page_size=10)
    channel.add(*range(1, 46))
    poller = poller_for(tme, db, client, clock, backfill=0)
    await poller.follow("fw_busy_channel", None)
    channel.add(*range(46, 71))
    tme.requests.clear()
    clock.now += INTERVAL

    (report,) = await poller.poll_due()

    assert sorted(p.message_id for p in report.new) == list(range(46, 71))
    assert [r.before for r in tme.requests] == [None, 61, 51]  # 41..50 holds stored posts
    assert report.new[0].source == "web" and report.new[0].channel_username == "fw_busy_channel"
    tme.requests.clear()
    clock.now += INTERVAL
    (quiet,) = await poller.poll_due()
    assert (quiet.new, quiet.unchanged, len(tme.requests)) == ([], 10, 1)


async def test_a_changed_text_is_stored_as_an_edit_with_the_old_version_kept(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    channel = tme.channel("fw_edit_channel", "Edits")
    channel.add(1, 2, 3)
    poller = poller_for(tme, db, client, clock)
    await poller.follow("fw_edit_channel", None)
    chat_id = synthetic_chat_id("fw_edit_channel")
    channel.edit(2, "Это был жест доброй воли.")
    clock.now += INTERVAL

    (report,) = await poller.poll_due()

    assert [p.message_id for p in report.edited] == [2]
    assert report.edited[0].edited_at == clock.now  # the preview says "edited", not when
    posts = PostRepository(db)
    assert await posts.text_of(chat_id, 2) == "Это был жест доброй воли."
    assert await posts.versions(chat_id, 2) == ["Post 2 of the test channel."]
    clock.now += INTERVAL
    (again,) = await poller.poll_due()
    assert again.edited == [] and await posts.versions(chat_id, 2) == [
        "Post 2 of the test channel."
    ]


async def test_a_deep_backfill_is_spread_over_polls(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    tme.channel("fw_deep_channel", page_size=5).add(*range(1, 201))
    poller = poller_for(tme, db, client, clock, backfill=100)
    await poller.follow("fw_deep_channel", None)
    chat_id = synthetic_chat_id("fw_deep_channel")

    (first,) = await poller.poll_due()

    assert first.pages == 1 + BACKFILL_PAGES_PER_POLL  # the newest page, then ten older ones
    assert await stored_ids(db, chat_id) == list(range(146, 201))
    follow = await FollowRepository(db).get("fw_deep_channel")
    assert follow is not None and (follow.backfill_before, follow.backfill_left) == (146, 45)
    clock.now += INTERVAL
    await poller.poll_due()
    assert await stored_ids(db, chat_id) == list(range(101, 201))  # 100 in all


async def test_a_preview_without_posts_is_refused_and_rechecked_daily_once_followed(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    tme.save("fw_quiet_channel", "empty_channel.html")
    poller = poller_for(tme, db, client, clock)

    refused = await poller.follow("fw_quiet_channel", None)

    assert (refused.outcome, refused.detail) == ("unavailable", NO_POSTS)
    assert await db.fetchval("SELECT count(*) FROM follows") == 0
    del tme.saved["fw_quiet_channel"]
    tme.channel("fw_quiet_channel", "Quiet").add(1)
    await poller.follow("fw_quiet_channel", None)
    tme.channels["fw_quiet_channel"].posts.clear()  # every post deleted
    clock.now += INTERVAL
    (report,) = await poller.poll_due()
    assert (report.state, report.error) == ("unavailable", NO_POSTS)
    follow = await FollowRepository(db).get("fw_quiet_channel")
    assert follow is not None and follow.next_poll_at == clock.now + UNAVAILABLE_RECHECK


async def test_real_saved_pages_served_over_http(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    real = SHARED_DATA / "tme_s"
    if not real.exists():
        pytest.skip(f"shared data not present: {real} (only in the team's workspace)")
    tme.saved["topwar_official"] = (real / "apkawa_rust-any2feed/full.html").read_text("utf-8")
    tme.saved["test_channel"] = (real / "shady2k_lifemodel/telegram-test-channel.html").read_text(
        "utf-8"
    )
    older = (FIXTURES / "empty_channel.html").read_text(encoding="utf-8")
    # The follow reads the saved page; its first poll finds no posts older than it.
    for name in ("topwar_official", "test_channel"):
        tme.queue(name, Reply(as_usual=True), Reply(as_usual=True), Reply(body=older))
    poller = poller_for(tme, db, client, clock)

    war = await poller.follow("topwar_official", None)
    test = await poller.follow("test_channel", None)

    assert (war.outcome, war.title) == ("followed", "Военное обозрение")
    assert war.report is not None and len(war.report.new) == 12
    assert test.report is not None and [p.message_id for p in test.report.new] == [1010, 1003, 1001]
    chat_id = synthetic_chat_id("topwar_official")
    row = await db.fetchone(
        "SELECT views, forwarded_from, forwarded_link, media, source FROM posts"
        " WHERE chat_id = ? AND message_id = 70996",
        (chat_id,),
    )
    assert row is not None
    assert tuple(row) == (32900, "Военкор Ярем", "https://t.me/yaremshooter/1066", None, "web")
    reports = {r.username: r for r in await poller.poll_due()}
    assert reports["topwar_official"].unchanged == 12 and reports["test_channel"].unchanged == 3
    assert {r.state for r in reports.values()} == {"ok"}
    follow = await FollowRepository(db).get("topwar_official")
    assert follow is not None and follow.backfill_before is None  # the older page was empty


async def test_a_cursor_that_does_not_move_back_ends_the_backfill(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    tme.save("fw_test_channel", "fw_test_channel.html")
    poller = poller_for(tme, db, client, clock)
    await poller.follow("fw_test_channel", None)
    page = (FIXTURES / "fw_test_channel.html").read_text(encoding="utf-8")
    tme.queue("fw_test_channel", Reply(body=page), Reply(body=page))  # ?before= is ignored

    (report,) = await poller.poll_due()

    assert (report.state, report.new, report.unchanged) == ("ok", [], 10)
    assert [r.before for r in tme.requests] == [None, None, 101]
    follow = await FollowRepository(db).get("fw_test_channel")
    assert follow is not None and follow.backfill_before is None


async def test_the_user_agent_names_framewatch(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    tme.channel("fw_ua_channel").add(1)
    await poller_for(tme, db, client, clock).follow("fw_ua_channel", None)
    agent = tme.requests[0].user_agent
    assert agent.startswith("FrameWatch/") and "(+https://" in agent


async def test_at_most_three_channels_are_fetched_at_once(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    poller = poller_for(tme, db, client, clock, backfill=0)
    names = [f"fw_channel_{n}" for n in range(6)]
    for name in names:
        tme.channel(name).add(1)
        await poller.follow(name, None)
    tme.gate_at = 3  # hold every request until three are in flight
    clock.now += INTERVAL

    reports = await poller.poll_due()

    assert sorted(r.username for r in reports) == names
    assert all(r.state == "ok" for r in reports)
    assert tme.max_in_flight == 3


# --- channel identity ---------------------------------------------------------------------------


async def test_a_channel_known_by_username_keeps_its_real_id_and_its_own_texts(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    forwarded = IncomingPost(
        chat_id=-1007,
        message_id=2,
        posted_at=clock.now - timedelta(days=1),
        text="Forwarded text",
        channel_title="Known",
        channel_username="FW_Known_Channel",
        source="forward",
    )
    await PostRepository(db).store(forwarded, clock.now)
    tme.channel("fw_known_channel", "Known").add(1, 2, 3)

    result = await poller_for(tme, db, client, clock).follow("fw_known_channel", None)

    assert result.report is not None and result.report.other_source == 1
    follow = await FollowRepository(db).get("fw_known_channel")
    assert follow is not None and follow.chat_id == -1007
    assert await stored_ids(db, -1007) == [1, 2, 3]
    assert await PostRepository(db).text_of(-1007, 2) == "Forwarded text"


async def test_web_posts_move_to_the_real_id_once_the_bot_joins_the_channel(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    channel = tme.channel("fw_adopt_channel", "Adopted")
    channel.add(1, 2, 3, 4, 5)
    poller = poller_for(tme, db, client, clock)
    await poller.follow("fw_adopt_channel", None)
    synthetic = synthetic_chat_id("fw_adopt_channel")
    posts = PostRepository(db)
    # The bot is made admin: it learns the real id, and stores post 5 and a new post 6.
    await ChannelRepository(db).set_membership(
        -1009, "fw_adopt_channel", "Adopted", True, clock.now
    )
    for message_id, text in ((5, "Post 5, as the bot saw it"), (6, "Post 6")):
        await posts.store(
            IncomingPost(-1009, message_id, clock.now, text, "Adopted", "fw_adopt_channel"),
            clock.now,
        )
    channel.add(7)
    clock.now += INTERVAL

    (report,) = await poller.poll_due()

    assert report.moved == 4 and [p.message_id for p in report.new] == [7]
    assert await stored_ids(db, synthetic) == []
    assert await stored_ids(db, -1009) == [1, 2, 3, 4, 5, 6, 7]
    assert await posts.text_of(-1009, 5) == "Post 5, as the bot saw it"  # the bot's text wins
    follow = await FollowRepository(db).get("fw_adopt_channel")
    assert follow is not None and follow.chat_id == -1009 and not is_synthetic(follow.chat_id)
    assert await db.fetchval("SELECT count(*) FROM channels WHERE chat_id = ?", (synthetic,)) == 0
    found = await db.fetchval(
        "SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'test'"
        if is_sqlite(db)
        else "SELECT count(*) FROM posts WHERE search_tsv @@ to_tsquery('simple', 'test')"
    )
    assert found == 5  # moved posts (1-4) and post 7 are still found by full-text search


async def test_posts_kept_from_an_earlier_follow_join_the_real_id_on_a_new_follow(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    tme.channel("fw_again_channel", "Again").add(1, 2)
    poller = poller_for(tme, db, client, clock)
    await poller.follow("fw_again_channel", None)
    follows = FollowRepository(db)
    assert await follows.remove("fw_again_channel", None, clock.now)
    await ChannelRepository(db).set_membership(-1011, "fw_again_channel", "Again", True, clock.now)

    result = await poller.follow("fw_again_channel", None)

    assert result.report is not None and result.report.moved == 2
    assert await stored_ids(db, -1011) == [1, 2]
    assert await stored_ids(db, synthetic_chat_id("fw_again_channel")) == []


# --- errors, backoff, unavailable channels --------------------------------------------------


async def test_a_name_without_a_public_preview_is_refused_and_nothing_is_written(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    poller = poller_for(tme, db, client, clock)

    result = await poller.follow("fw_gone_channel", None)  # t.me/s redirects to the contact card

    assert (result.outcome, result.detail) == ("unavailable", NOT_PUBLIC)
    for table in ("follows", "channels", "posts", "audit_log"):
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0


@pytest.mark.parametrize(
    ("reply", "outcome", "detail"),
    [
        (Reply(status=404), "unavailable", NOT_PUBLIC),
        (Reply(status=500), "failed", "t.me answered HTTP 500"),
        (Reply(body="<html><body>Maintenance</body></html>"), "failed", UNREADABLE),
        (Reply(status=429, headers={"Retry-After": "30"}), "failed", "HTTP 429"),
    ],
)
async def test_a_follow_that_cannot_read_the_page_changes_nothing(
    tme: TmeServer,
    db: Backend,
    client: httpx.AsyncClient,
    clock: FakeClock,
    reply: Reply,
    outcome: str,
    detail: str,
) -> None:
    tme.channel("fw_flaky_channel").add(1)
    tme.queue("fw_flaky_channel", reply)

    result = await poller_for(tme, db, client, clock).follow("fw_flaky_channel", None)

    assert result.outcome == outcome and detail in result.detail
    assert await db.fetchval("SELECT count(*) FROM follows") == 0


async def follow_one(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock, name: str
) -> WebPreviewPoller:
    tme.channel(name).add(1, 2)
    poller = poller_for(tme, db, client, clock, backfill=0)
    assert (await poller.follow(name, None)).outcome == "followed"
    clock.now += INTERVAL
    return poller


async def test_429_honours_retry_after_and_the_channel_recovers(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    poller = await follow_one(tme, db, client, clock, "fw_limited_channel")
    tme.queue("fw_limited_channel", Reply(status=429, headers={"Retry-After": "3600"}))

    (report,) = await poller.poll_due()

    assert report.state == "error" and "429" in (report.error or "")
    follows = FollowRepository(db)
    follow = await follows.get("fw_limited_channel")
    assert follow is not None and follow.failures == 1
    assert follow.next_poll_at == clock.now + timedelta(seconds=3600)
    clock.now += timedelta(minutes=30)
    assert await poller.poll_due() == []  # not retried hot
    clock.now += timedelta(minutes=30)
    (recovered,) = await poller.poll_due()
    assert recovered.state == "ok"
    after = await follows.get("fw_limited_channel")
    assert after is not None and (after.failures, after.last_error, after.state) == (0, None, "ok")


async def test_retry_after_as_an_http_date(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    poller = await follow_one(tme, db, client, clock, "fw_dated_channel")
    when = format_datetime(clock.now + timedelta(hours=2), usegmt=True)
    tme.queue("fw_dated_channel", Reply(status=429, headers={"Retry-After": when}))

    await poller.poll_due()

    follow = await FollowRepository(db).get("fw_dated_channel")
    assert follow is not None and follow.next_poll_at == clock.now + timedelta(hours=2)


async def test_server_errors_back_off_exponentially_up_to_a_cap(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    poller = await follow_one(tme, db, client, clock, "fw_broken_channel")
    tme.queue("fw_broken_channel", *[Reply(status=s) for s in (500, 502, 503, 500, 500, 500, 500)])
    follows = FollowRepository(db)
    delays = []
    for _ in range(7):
        (report,) = await poller.poll_due()
        assert report.state == "error" and "HTTP 5" in (report.error or "")
        follow = await follows.get("fw_broken_channel")
        assert follow is not None
        delays.append(follow.next_poll_at - clock.now)
        clock.now = follow.next_poll_at

    assert delays == [INTERVAL * 2**n for n in range(6)] + [MAX_BACKOFF]
    (report,) = await poller.poll_due()
    assert report.state == "ok"


async def test_a_hanging_channel_times_out_and_the_others_are_still_polled(
    tme: TmeServer, db: Backend, clock: FakeClock
) -> None:
    async with open_client(timeout_seconds=0.3) as quick:
        poller = poller_for(tme, db, quick, clock, backfill=0)
        for name in ("fw_slow_channel", "fw_fine_channel"):
            tme.channel(name).add(1)
            await poller.follow(name, None)
        tme.channels["fw_fine_channel"].add(2)
        tme.queue("fw_slow_channel", Reply(hang=True))
        clock.now += INTERVAL

        reports = {r.username: r for r in await poller.poll_due()}

    assert reports["fw_slow_channel"].state == "error"
    assert "timeout" in (reports["fw_slow_channel"].error or "")
    assert [p.message_id for p in reports["fw_fine_channel"].new] == [2]


async def test_a_channel_that_loses_its_preview_is_rechecked_daily_not_hot(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    poller = await follow_one(tme, db, client, clock, "fw_closed_channel")
    tme.queue("fw_closed_channel", Reply(redirect_to="/fw_closed_channel"))

    (report,) = await poller.poll_due()

    assert (report.state, report.error) == ("unavailable", NOT_PUBLIC)
    follow = await FollowRepository(db).get("fw_closed_channel")
    assert follow is not None and follow.state == "unavailable"
    assert follow.next_poll_at == clock.now + UNAVAILABLE_RECHECK
    assert follow.post_count == 2  # what was stored stays


async def test_malformed_and_truncated_pages_do_not_break_the_poller(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    poller = await follow_one(tme, db, client, clock, "fw_messy_channel")
    channel = tme.channels["fw_messy_channel"]
    channel.add(3, 4)
    full = render_page(channel, None)
    truncated = full[: full.index("Post 4 of the test channel.") + 6]
    malformed = (FIXTURES / "malformed.html").read_text(encoding="utf-8")
    tme.queue("fw_messy_channel", Reply(body=malformed), Reply(body=truncated))

    (broken,) = await poller.poll_due()
    assert (broken.state, broken.error) == ("error", UNREADABLE)
    clock.now += INTERVAL
    (cut,) = await poller.poll_due()
    assert (cut.state, [p.message_id for p in cut.new], cut.unreadable) == ("ok", [3], 1)
    clock.now += INTERVAL
    (whole,) = await poller.poll_due()
    assert [p.message_id for p in whole.new] == [4]
    assert await PostRepository(db).text_of(synthetic_chat_id("fw_messy_channel"), 4) == (
        "Post 4 of the test channel."
    )


async def test_an_unreachable_host_is_an_error_not_a_crash(
    db: Backend, client: httpx.AsyncClient, clock: FakeClock, tme: TmeServer
) -> None:
    poller = await follow_one(tme, db, client, clock, "fw_lost_channel")
    await tme.__aexit__(None, None, None)  # t.me goes away

    (report,) = await poller.poll_due()

    assert report.state == "error" and "could not reach t.me" in (report.error or "")


@sqlite_only  # counts trips to aiosqlite's thread
async def test_a_page_is_stored_in_one_round_trip(
    tme: TmeServer, db: Backend, client: httpx.AsyncClient, clock: FakeClock, tmp_path: Path
) -> None:
    tme.channel("fw_counted_channel", "Counted", page_size=10).add(*range(1, 31))
    counted = await CountingDatabase.open(Path(db.path))
    try:
        poller = WebPreviewPoller(
            client,
            tme.base_url,
            PostRepository(counted),  # the posts' writes are counted, the follows' are not
            FollowRepository(db),
            clock,
            interval=INTERVAL,
            backfill_posts=30,
            rng=NoJitter(),
        )
        await poller.follow("fw_counted_channel", None)
        await poller.poll_due()  # the newest page again, then the backfill: two more
    finally:
        await counted.close()

    assert await stored_ids(db, synthetic_chat_id("fw_counted_channel")) == list(range(1, 31))
    assert len(tme.requests) == 4
    # One transaction per page of 10 posts, a few statements each (never one per post).
    assert counted.calls.keys() == {"atomic", "statement in atomic"}
    assert counted.calls["atomic"] == 4
    assert counted.calls["statement in atomic"] <= 5 * 4
