"""/follow, /unfollow, /channels and the poll job through the real application (tests/conftest.py
harness), and `framewatch follow|poll|unfollow` as subprocesses; t.me is a local stand-in."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from storage.chat_ids import synthetic_chat_id
from tests.conftest import (
    ADMIN,
    MODERATOR,
    STRANGER,
    FakeClock,
    Harness,
    make_settings,
    running_harness,
)
from tests.fake_telegram import FakeTelegram
from tests.fixtures.tme_s.server import Reply, TmeServer

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def tme() -> AsyncIterator[TmeServer]:
    async with TmeServer() as server:
        yield server


@pytest.fixture
async def bot(
    tmp_path: Path, tg: FakeTelegram, clock: FakeClock, tme: TmeServer, backend_target: str
) -> AsyncIterator[Harness]:
    """The conftest harness, with the web preview pointed at the local t.me stand-in."""
    settings = make_settings(
        tmp_path, tg.base_url, backend_target, web_preview_url=tme.base_url, backfill_posts=30
    )
    async with running_harness(settings, tg, clock) as harness:
        await harness.grant_roles()
        yield harness


async def run_poll_job(h: Harness) -> None:
    assert h.app.job_queue is not None
    (job,) = h.app.job_queue.get_jobs_by_name("poll-followed")
    await job.run(h.app)


async def count(h: Harness, sql: str) -> int:
    return int(await h.db.fetchval(sql))


async def test_follow_reads_the_channel_and_the_job_backfills_it(
    bot: Harness, tme: TmeServer
) -> None:
    channel = tme.channel("FW_Bot_Channel", "Канал для тестов", page_size=20)
    channel.add(*range(1, 61))

    (answer,) = await bot.command(MODERATOR, "/follow https://t.me/s/FW_Bot_Channel")

    assert "Following @fw_bot_channel (Канал для тестов): stored 20 posts" in answer
    assert "up to 30 in all" in answer and "every 10 minutes" in answer
    follow = await bot.services.follows.get("fw_bot_channel")
    assert follow is not None and follow.post_count == 20
    assert await count(bot, "SELECT count(*) FROM audit_log WHERE action = 'follow'") == 1

    await run_poll_job(bot)  # due at once: reads 10 more, the rest of the backfill

    follow = await bot.services.follows.get("fw_bot_channel")
    assert follow is not None and follow.post_count == 30 and follow.backfill_before is None
    channel.add(61, 62)
    bot.clock.now += timedelta(minutes=11)
    await run_poll_job(bot)
    chat_id = synthetic_chat_id("fw_bot_channel")
    assert await bot.services.posts.text_of(chat_id, 62) == "Post 62 of the test channel."
    hits = await bot.services.search.search("test", limit=100)
    assert {h.message_id for h in hits} >= {61, 62}
    assert {h.channel_username for h in hits} == {"FW_Bot_Channel"}  # links use the username


async def test_the_poll_job_is_scheduled_with_grace_time_and_one_run_at_a_time(
    bot: Harness,
) -> None:
    assert bot.app.job_queue is not None
    (job,) = bot.app.job_queue.get_jobs_by_name("poll-followed")
    assert job.job.trigger.interval == timedelta(seconds=60)  # each channel keeps its own time
    assert job.job.misfire_grace_time == 600 and job.job.coalesce
    assert job.job.max_instances == 1


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("/follow", "Usage: /follow @channel"),
        ("/follow abc", "5–32 characters"),
        ("/follow t.me/+secretinvite", "invite link"),
        ("/follow <b>bold</b>", "is not a channel username"),
        ("/follow two words", "is not a channel username"),
        ("/unfollow", "Usage: /unfollow @channel"),
        ("/unfollow https://example.com/x", "5–32 characters"),
    ],
)
async def test_bad_names_get_the_rule_and_change_nothing(
    bot: Harness, tme: TmeServer, text: str, says: str
) -> None:
    (answer,) = await bot.command(MODERATOR, text)
    assert says in answer
    assert tme.requests == []
    assert await count(bot, "SELECT count(*) FROM follows") == 0


async def test_a_channel_without_a_preview_is_refused_with_the_reason(
    bot: Harness, tme: TmeServer
) -> None:
    (answer,) = await bot.command(MODERATOR, "/follow @fw_gone_channel")

    assert "Cannot follow @fw_gone_channel: no public web preview" in answer
    assert "Nothing changed" in answer
    assert await count(bot, "SELECT count(*) FROM follows") == 0
    assert await count(bot, "SELECT count(*) FROM channels") == 0


async def test_t_me_failing_during_follow_is_reported(bot: Harness, tme: TmeServer) -> None:
    tme.channel("fw_down_channel").add(1)
    tme.queue("fw_down_channel", Reply(status=503))

    (answer,) = await bot.command(MODERATOR, "/follow fw_down_channel")

    assert "Could not check @fw_down_channel: t.me answered HTTP 503. Nothing changed" in answer
    assert await count(bot, "SELECT count(*) FROM follows") == 0


async def test_only_moderators_may_follow(bot: Harness, tme: TmeServer) -> None:
    tme.channel("fw_some_channel").add(1)
    (refusal,) = await bot.command(STRANGER, "/follow fw_some_channel")
    assert "only moderators" in refusal
    assert tme.requests == [] and await count(bot, "SELECT count(*) FROM follows") == 0
    (help_text,) = await bot.command(MODERATOR, "/help")
    assert "/follow @channel" in help_text and "/unfollow @channel" in help_text


async def test_follow_twice_and_unfollow(bot: Harness, tme: TmeServer) -> None:
    tme.channel("fw_twice_channel", "Twice").add(1, 2, 3)
    await bot.command(MODERATOR, "/follow @fw_twice_channel")

    (again,) = await bot.command(ADMIN, "/follow fw_twice_channel")
    assert "Already following @fw_twice_channel (Twice)" in again

    (stopped,) = await bot.command(MODERATOR, "/unfollow @FW_twice_channel")
    assert "Stopped following @fw_twice_channel. Its 3 stored posts stay" in stopped
    assert await count(bot, "SELECT count(*) FROM follows") == 0
    assert await count(bot, "SELECT count(*) FROM posts") == 3
    (not_followed,) = await bot.command(MODERATOR, "/unfollow fw_twice_channel")
    assert "I am not following @fw_twice_channel" in not_followed
    assert await count(bot, "SELECT count(*) FROM audit_log WHERE action = 'unfollow'") == 1


async def test_channels_lists_followed_channels_with_their_state(
    bot: Harness, tme: TmeServer
) -> None:
    tme.channel("fw_listed_channel", "Listed").add(1, 2)
    tme.channel("fw_failing_channel", "Failing").add(5)
    await bot.command(MODERATOR, "/follow fw_listed_channel")
    await bot.command(MODERATOR, "/follow fw_failing_channel")
    tme.queue("fw_failing_channel", Reply(status=500))
    bot.clock.now += timedelta(minutes=11)

    await run_poll_job(bot)
    (listing,) = await bot.command(MODERATOR, "/channels")

    lines = {line.split(" @")[1].split(" ")[0]: line for line in listing.splitlines()[1:]}
    listed = lines["fw_listed_channel"]
    assert "Listed" in listed and "2 posts" in listed
    assert "followed · ok · last poll 2026-11-25 14:11" in listed  # Kyiv time
    failing = lines["fw_failing_channel"]
    assert "followed · error: t.me answered HTTP 500 · last poll 2026-11-25 14:11" in failing
    assert "next try 2026-11-25 14:2" in failing  # the interval, plus jitter


# --- the command line, as subprocesses ---------------------------------------------------------


async def cli(tmp_path: Path, tme: TmeServer, *args: str, **env: str) -> tuple[int, str, str]:
    """`python -m bot ARGS`; asynchronous, so the t.me stand-in keeps answering meanwhile."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    clean.update(
        PYTHONPATH=str(PROJECT_ROOT),
        PYTHONIOENCODING="utf-8",
        FRAMEWATCH_DB_PATH=str(tmp_path / "cli.db"),
        FRAMEWATCH_WEB_PREVIEW_URL=tme.base_url,
        FRAMEWATCH_BACKFILL_POSTS="15",
    )
    clean.update(env)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=clean,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_cli_follow_poll_unfollow(tmp_path: Path, tme: TmeServer) -> None:
    channel = tme.channel("fw_cli_channel", "CLI Channel", page_size=10)
    channel.add(*range(1, 31))
    tme.channel("fw_cli_broken", "Broken").add(1)

    code, out, err = await cli(tmp_path, tme, "follow", "@fw_cli_channel")
    assert code == 0, err
    assert out.startswith("Following @fw_cli_channel (CLI Channel): stored 10 posts")
    assert (await cli(tmp_path, tme, "follow", "t.me/fw_cli_broken"))[0] == 0
    channel.add(31)
    tme.queue("fw_cli_broken", Reply(status=500))

    code, out, err = await cli(tmp_path, tme, "poll")

    assert code == 1, err  # one channel could not be read
    assert "@fw_cli_broken: error: t.me answered HTTP 500" in out
    assert "@fw_cli_channel: 6 new, 0 edited" in out  # 31, then the backfill's 5 (16-20)
    assert "https://t.me/fw_cli_channel/31  Post 31 of the test channel." in out
    assert "Polled 2 channel(s): 6 new post(s), 0 edited; 1 could not be read." in out
    assert "Traceback" not in err

    code, out, err = await cli(tmp_path, tme, "unfollow", "fw_cli_broken")
    assert (code, out.strip()) == (0, "Stopped following @fw_cli_broken; its stored posts stay.")
    code, out, err = await cli(tmp_path, tme, "poll")
    assert code == 0 and "@fw_cli_channel: 0 new, 0 edited, 10 unchanged (1 page(s))" in out
    code, out, err = await cli(tmp_path, tme, "unfollow", "fw_cli_broken")
    assert code == 1 and "not following @fw_cli_broken" in err


async def test_cli_refuses_bad_names_and_unavailable_channels(
    tmp_path: Path, tme: TmeServer
) -> None:
    code, out, err = await cli(tmp_path, tme, "follow", "no")
    assert code == 2 and "5–32 characters" in err and "Traceback" not in err
    assert not (tmp_path / "cli.db").exists()  # refused before opening the database

    code, out, err = await cli(tmp_path, tme, "follow", "fw_gone_channel")
    assert code == 1 and "Cannot follow @fw_gone_channel: no public web preview" in out

    code, out, err = await cli(tmp_path, tme, "poll")
    assert (code, out.strip()) == (
        0,
        "No channels are followed. Follow one: framewatch follow NAME",
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FRAMEWATCH_POLL_INTERVAL_SECONDS", "5"),
        ("FRAMEWATCH_POLL_INTERVAL_SECONDS", "often"),
        ("FRAMEWATCH_BACKFILL_POSTS", "-1"),
        ("FRAMEWATCH_WEB_PREVIEW_URL", "ftp://t.me/s"),
        ("FRAMEWATCH_WEB_PREVIEW_URL", "t.me/s"),
    ],
)
async def test_cli_names_a_malformed_setting(
    tmp_path: Path, tme: TmeServer, variable: str, value: str
) -> None:
    code, out, err = await cli(tmp_path, tme, "poll", **{variable: value})
    assert out == ""
    assert code == 2
    assert err.startswith(f"framewatch: {variable}: ") and len(err.strip().splitlines()) == 1


async def test_follows_and_polls_share_the_applications_one_client(
    bot: Harness, tme: TmeServer
) -> None:
    tme.channel("fw_shared_client", "Shared", page_size=20).add(*range(1, 5))
    await bot.command(MODERATOR, "/follow fw_shared_client")
    client = bot.services.web.get()  # the one /follow used
    bot.clock.now += timedelta(minutes=11)
    await run_poll_job(bot)
    await run_poll_job(bot)
    assert bot.services.web.get() is client and not client.is_closed
    follow = await bot.services.follows.get("fw_shared_client")
    assert follow is not None and follow.state == "ok"

    await bot.services.close()  # as the application does when it stops
    assert client.is_closed
