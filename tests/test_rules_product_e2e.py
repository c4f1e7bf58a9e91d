"""Rules versions and background rescans through the real bot: /watch, /unwatch, /framings
and the scan job, with the job callbacks run directly."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.scan import rescan_batch, run_scan
from handlers.jobs import RESCAN_BATCHES_PER_RUN, RESCAN_FOLLOW_UP
from tests.conftest import MODERATOR, Harness
from tests.fake_telegram import channel_post

CHANNEL = -1001000000001
POSTED = int(datetime(2026, 11, 25, 10, 0, tzinfo=UTC).timestamp())


async def run_job(h: Harness, name: str) -> None:
    assert h.app.job_queue is not None
    (job,) = h.app.job_queue.get_jobs_by_name(name)
    await job.run(h.app)


async def post_channel(h: Harness, texts: list[str]) -> None:
    for number, text in enumerate(texts, 1):
        await h.push(channel_post(CHANNEL, number, text, date=POSTED, username="echo"))


async def framing_line(h: Harness, slug: str) -> str:
    """The /framings line of one framing (name, title, counts, rescan progress)."""
    (listing,) = await h.command(MODERATOR, "/framings")
    return next(line for line in listing.splitlines() if line.startswith(f"<b>{slug}</b>"))


async def history(h: Harness) -> list[tuple[int, str, str, str, int | None, str]]:
    rows = await h.db.fetchall(
        "SELECT version, framing_slug, term_text, change, user_id, via FROM rule_changes"
        " ORDER BY id"
    )
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


async def test_watch_and_unwatch_record_rules_versions(harness: Harness) -> None:
    await harness.grant_roles()

    added = await harness.command(MODERATOR, "/watch feint tactical feint")
    again = await harness.command(MODERATOR, "/watch feint Tactical  Feint")
    await harness.command(MODERATOR, "/watch feint military feint")
    removed = await harness.command(MODERATOR, "/unwatch feint tactical feint")
    whole = await harness.command(MODERATOR, "/unwatch feint")

    assert "rules version 1" in added[0] and "rescanned for it in the background" in added[0]
    assert "nothing changed" in again[0]
    assert "(rules version 3)" in removed[0]
    assert "with its 1 terms and matches (rules version 4)" in whole[0]
    assert await history(harness) == [
        (1, "feint", "tactical feint", "added", MODERATOR, "/watch"),
        (2, "feint", "military feint", "added", MODERATOR, "/watch"),
        (3, "feint", "tactical feint", "removed", MODERATOR, "/unwatch"),
        (4, "feint", "military feint", "removed", MODERATOR, "/unwatch"),
    ]
    (listing,) = await harness.command(MODERATOR, "/framings")
    assert "No framings yet" in listing


async def test_framings_shows_rescan_progress_until_the_rescan_is_done(harness: Harness) -> None:
    await harness.grant_roles()
    await post_channel(harness, [f"Post {i}: a tactical feint." for i in range(4)] + ["Weather."])
    await run_job(harness, "scan")  # the posts are scanned against no terms
    await harness.command(MODERATOR, "/watch feint tactical feint")
    services = harness.services

    # One batch of two of the five stored posts, as the scan job does between replies.
    await run_scan(
        services.framings,
        services.matches,
        services.clock,
        batch=2,
        rules=services.rules,
        max_rescan_batches=1,
    )

    line = await framing_line(harness, "feint")
    assert "2 posts matched · rescanning: 40%" in line
    (one,) = await harness.command(MODERATOR, "/framings feint")
    assert "rescanning: 40%" in one.splitlines()[0]
    (listing,) = await harness.command(MODERATOR, "/framings")
    assert "rules version 1" in listing.splitlines()[0]

    await rescan_batch(services.framings, services.matches, services.rules, services.clock, 2)
    assert "rescanning: 80%" in await framing_line(harness, "feint")

    await run_job(harness, "scan")
    line = await framing_line(harness, "feint")
    assert "4 posts matched" in line and "rescanning" not in line


async def test_only_the_framing_with_new_terms_shows_a_rescan(harness: Harness) -> None:
    await harness.grant_roles()
    await harness.command(MODERATOR, "/watch feint tactical feint")
    await post_channel(harness, ["A tactical feint and a goodwill gesture.", "Rain.", "Sun."])
    await run_job(harness, "scan")
    await harness.command(MODERATOR, "/watch goodwill goodwill gesture")
    services = harness.services

    await rescan_batch(services.framings, services.matches, services.rules, services.clock, 1)

    assert "rescanning: 33%" in await framing_line(harness, "goodwill")
    assert "rescanning" not in await framing_line(harness, "feint")
    await harness.command(MODERATOR, "/unwatch goodwill")  # a removed framing leaves no rescan
    assert await services.matches.rescan_progress() == {}


async def test_scan_job_rescans_in_shares_and_schedules_the_rest(harness: Harness) -> None:
    await harness.grant_roles()
    share = RESCAN_BATCHES_PER_RUN * 500  # posts one scan job rescans
    async with harness.db.atomic() as conn:  # a large backlog, already scanned
        await conn.execute(
            "INSERT INTO channels (chat_id, username, title, added_at, updated_at)"
            " VALUES (?, 'echo', 'Echo', 'x', 'x')",
            (CHANNEL,),
        )
        await conn.executemany(
            "INSERT INTO posts (chat_id, message_id, posted_at, text, stored_at)"
            " VALUES (?, ?, ?, ?, 'x')",
            [(CHANNEL, i, POSTED, f"Post {i}: a tactical feint.") for i in range(2 * share + 1)],
        )
        await conn.execute("UPDATE post_scan SET needs_scan = 0")  # already scanned
    await harness.command(MODERATOR, "/watch feint tactical feint")
    job_queue = harness.app.job_queue
    assert job_queue is not None

    await run_job(harness, "scan")
    assert "rescanning: 49%" in await framing_line(harness, "feint")
    assert len(job_queue.get_jobs_by_name(RESCAN_FOLLOW_UP)) == 1

    await run_job(harness, "scan")  # the regular run goes on; still one follow-up queued
    assert "rescanning: 99%" in await framing_line(harness, "feint")
    (follow_up,) = job_queue.get_jobs_by_name(RESCAN_FOLLOW_UP)

    await follow_up.run(harness.app)
    line = await framing_line(harness, "feint")
    assert f"{2 * share + 1} posts matched" in line and "rescanning" not in line
