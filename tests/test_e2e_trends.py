"""Trends through the real bot and the fake Bot API: /trend charts, spike alerts (once,
also after a restart), the digest's "surging" heading and its chart; and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.alerts import send_alerts
from bot.context import Services
from bot.delivery import deliver_daily
from bot.ingest import store_posts
from storage.alerts import AlertRepository
from storage.models import IncomingPost
from tests.cli import run_framewatch
from tests.conftest import MODERATOR, Harness

PNG = b"\x89PNG\r\n\x1a\n"
CHANNELS = (-1001000000011, -1001000000012, -1001000000013)
TODAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 14:00 in Kyiv


def world_posts(today: datetime) -> list[IncomingPost]:
    """30 days of background (15 posts a day, the framing every third day), then today
    6 posts of the framing from two channels."""
    posts: list[IncomingPost] = []
    ids = iter(range(1, 10_000))
    for days_ago in range(30, 0, -1):
        day = today - timedelta(days=days_ago)
        for n in range(15):
            text = "great spin again" if n == 0 and days_ago % 3 == 0 else f"weather {n}"
            chat = CHANNELS[n % 3]
            posts.append(_post(chat, next(ids), day - timedelta(hours=n % 8), text))
    for n in range(6):
        at = today - timedelta(hours=5) + timedelta(minutes=20 * n)
        posts.append(_post(CHANNELS[n % 2], next(ids), at, f"the great spin, part {n}"))
    return posts


def _post(chat_id: int, message_id: int, at: datetime, text: str) -> IncomingPost:
    username = f"chan{abs(chat_id) % 100}"
    return IncomingPost(chat_id, message_id, at, text, f"Channel {username}", username)


async def setup_world(h: Harness) -> None:
    await h.grant_roles()
    assert "spin" in (await h.command(MODERATOR, "/watch spin great spin"))[0]
    h.clock.now = TODAY
    await store_posts(h.services.posts, world_posts(TODAY), TODAY)


async def scan(h: Harness) -> None:
    assert h.app.job_queue is not None
    (job,) = h.app.job_queue.get_jobs_by_name("scan")
    await job.run(h.app)


async def test_trend_replies_with_a_chart(harness: Harness) -> None:
    await setup_world(harness)
    await scan(harness)
    await harness.command(7, "/trend spin")
    (photo,) = [p for p in harness.tg.photos if p.chat_id == 7]
    assert photo.photo.startswith(PNG) and len(photo.photo) > 5_000
    assert photo.parse_mode == "HTML" and photo.caption is not None
    assert "<b>spin</b>" in photo.caption and "Today: surging: 6 vs" in photo.caption
    (usage,) = await harness.command(7, "/trend")
    assert "Usage: /trend" in usage
    (unknown,) = await harness.command(7, "/trend nothing-like-it")
    assert "No framing is called" in unknown and "/framings" in unknown
    assert len(harness.tg.photos) == 1


async def test_alerts_go_once_to_opted_in_subscribers_even_after_a_restart(
    harness: Harness,
) -> None:
    await setup_world(harness)
    for chat in (101, 102, 103, 104):
        await harness.command(chat, "/subscribe")
    for chat in (101, 103, 104):
        assert "Spike alerts on" in (await harness.command(chat, "/alerts on"))[0]
    assert "already on" in (await harness.command(101, "/alerts on"))[0]
    assert "/subscribe first" in (await harness.command(555, "/alerts on"))[0]
    harness.tg.fail("sendMessage", chat_id=101, status=429, retry_after=1, times=1)
    harness.tg.fail("sendMessage", chat_id=103, status=403, times=None)
    harness.tg.fail("sendMessage", chat_id=104, status=502, times=1)
    await scan(harness)  # the scan finds today's posts, then alerts
    (alert,) = [m for m in harness.tg.sent_to(101) if "<b>Spike:" in m.text]
    assert "<b>Spike: spin</b> — 6 posts in 2 channels today vs" in alert.text
    assert "First seen: <a href=" in alert.text and alert.text.count("<a href=") == 4
    assert not [m for m in harness.tg.sent_to(102) if "<b>Spike:" in m.text]  # alerts are off
    assert not await harness.services.subscribers.is_active(103)  # blocked: deactivated
    alerts = AlertRepository(harness.db)
    assert await alerts.sent(104) == [("spin", "2026-11-25", "postponed")]
    # The next scan retries the postponed one and sends nothing twice.
    await scan(harness)
    assert await alerts.sent(104) == [("spin", "2026-11-25", "sent")]
    assert len([m for m in harness.tg.sent_to(104) if "<b>Spike:" in m.text]) == 1
    # A restart (new services, same file): nothing is sent again.
    sent = len(harness.tg.sent)
    restarted = Services.create(harness.services.settings, harness.db, harness.clock)
    report = await send_alerts(harness.app.bot, restarted)
    assert report.spikes == ["spin"] and report.sent == [] and len(harness.tg.sent) == sent
    assert "Spike alerts off" in (await harness.command(101, "/alerts off"))[0]
    assert "are off" in (await harness.command(101, "/alerts"))[0]


async def test_the_digest_says_surging_first_and_attaches_one_chart(harness: Harness) -> None:
    await setup_world(harness)
    await harness.command(MODERATOR, "/watch weather weather 1")
    usual = [
        _post(CHANNELS[2], 20_000 + n, TODAY - timedelta(hours=n), "weather 1") for n in range(8)
    ]
    await store_posts(harness.services.posts, usual, TODAY)
    harness.clock.now = TODAY - timedelta(hours=6)
    await harness.command(101, "/subscribe")
    harness.clock.now = TODAY
    await scan(harness)
    harness.clock.now = datetime(2026, 11, 26, 7, 0, 5, tzinfo=UTC)  # 09:00 in Kyiv
    report = await deliver_daily(harness.app.bot, harness.services)
    assert report.sent == [101]
    (digest,) = [m.text for m in harness.tg.sent_to(101) if "FrameWatch digest" in m.text]
    spin = digest.index("<b>spin</b>")
    assert digest.index("<b>weather</b>") > spin  # surging first, though weather has more
    assert "surging: 6 posts vs " in digest[spin:] and "(p &lt; 0.001)" in digest[spin:]
    assert "usual: " in digest[digest.index("<b>weather</b>") :]
    (chart,) = harness.tg.photos
    assert chart.chat_id == 101 and chart.photo.startswith(PNG)
    assert chart.caption is not None and "Surging: <b>spin</b>" in chart.caption
    restarted = Services.create(harness.services.settings, harness.db, harness.clock)
    await deliver_daily(harness.app.bot, restarted)
    assert len(harness.tg.photos) == 1


async def test_cli_trends_writes_rows_and_a_chart(harness: Harness, tmp_path: Path) -> None:
    await setup_world(harness)
    await scan(harness)
    db = Path(harness.services.settings.db_path)
    out, chart = tmp_path / "trends.jsonl", tmp_path / "chart.png"
    done = run_framewatch(
        "trends", "--since", "2026-11-20", "--until", "2026-11-25", "--output", str(out),
        "--chart", str(chart), cwd=tmp_path, db=db, **harness.database_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["day"] for r in rows] == ["2026-11-22", "2026-11-25"]
    today = rows[-1]
    assert list(today) == [
        "framing", "day", "posts", "channels", "share", "expected", "limit", "p_value",
        "spike", "new",
    ]  # fmt: skip
    assert (today["framing"], today["posts"], today["channels"], today["spike"]) == (
        "spin", 6, 2, True,
    )  # fmt: skip
    assert today["p_value"] < 0.001 and today["posts"] >= today["limit"]
    assert chart.read_bytes().startswith(PNG)
    csv_run = run_framewatch(
        "trends", "--framing", "spin", "--format", "csv", cwd=tmp_path, db=db,
        **harness.database_env(),
    )  # fmt: skip
    assert csv_run.returncode == 0, csv_run.stderr
    lines = csv_run.stdout.splitlines()
    assert lines[0] == "framing,day,posts,channels,share,expected,limit,p_value,spike,new"
    assert lines[-1].startswith("spin,2026-11-25,6,2,") and lines[-1].endswith(",true,false")
    target = tmp_path / "target.txt"
    target.write_text("keep me")
    (tmp_path / "link.csv").symlink_to(target)
    for bad, says in (
        (("--output", str(tmp_path)), "is a folder"),
        (("--output", str(tmp_path / "link.csv")), "is a symbolic link"),
        (("--chart", str(tmp_path / "link.csv")), "is a symbolic link"),
        (("--since", "yesterday"), "is not a date"),
        (("--framing", "nope"), "no framing is called 'nope'"),
        (("--since", "2026-11-25", "--until", "2026-11-01"), "is after --until"),
    ):
        failed = run_framewatch("trends", *bad, cwd=tmp_path, db=db, **harness.database_env())
        assert failed.returncode == 2 and says in failed.stderr, failed.stderr
    assert target.read_text() == "keep me" and (tmp_path / "link.csv").is_symlink()
