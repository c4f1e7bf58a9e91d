"""Propagation on real SQLite: near-duplicate index, clusters, coordinated pushes, forwards,
the `framewatch propagation|network` commands and the GEXF they write."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import networkx as nx
import pytest

from bot.config import Settings
from bot.context import Services
from bot.delivery import compose
from bot.framings import check_new_term
from bot.indexing import run_indexing
from bot.neardup_index import index_queued
from bot.network import build
from bot.propagation import (
    WINDOW_CAP,
    WINDOW_DEFAULT,
    WINDOW_FLOOR,
    Cluster,
    Origin,
    PropagationPost,
    coordinated,
    learn_window,
    origin_of,
)
from bot.propagation_report import FramingPropagation, load
from bot.scan import run_scan
from bot.sources.export import forward_origin_id
from bot.sources.webpreview import parse_page, to_incoming
from handlers.jobs import RESCAN_BATCHES_PER_RUN, RESCAN_FOLLOW_UP
from storage.backend import Backend
from storage.db import Database, _migration_files, migrate
from storage.models import IncomingPost
from storage.neardup import NearDupRepository
from storage.propagation import PropagationRepository
from tests.cli import run_framewatch
from tests.conftest import ANALYST, DB_FILE, SHARED_DATA, STRANGER, Harness
from tests.fake_telegram import channel_post
from tests.test_export_import_real import export_path, run_import

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
START = NOW - timedelta(hours=6)
PUSH = (
    "Срочно: в Одесской области обнаружены секретные биолаборатории Пентагона, где якобы "
    "испытывали опасные вирусы на местных жителях, сообщают источники в силовых структурах"
)
PUSH_EDITED = PUSH.replace("Срочно: в", "В") + ". Подписывайтесь!"
SAME_TOPIC = (
    "Эксперты снова разобрали миф про биолаборатории: никаких доказательств опытов над "
    "людьми в Одесской области журналисты не нашли, документы оказались подделкой"
)
ORIGIN = -1009990000001  # an export's forwarded_from_id: a channel never stored here


@pytest.fixture
def db(any_db: Backend) -> Backend:
    """The repositories' tests here on SQLite and on PostgreSQL (tests/backends.py)."""
    return any_db


@pytest.fixture
def services(db: Backend, tmp_path: Path) -> Services:
    settings = Settings(_env_file=None, bot_token="123:TEST", db_path=str(tmp_path / DB_FILE))
    return Services.create(settings, db, lambda: NOW)


async def store(
    services: Services, chat: int, message_id: int, minutes: int, text: str, **extra: object
) -> int:
    post = IncomingPost(
        chat_id=chat,
        message_id=message_id,
        posted_at=START + timedelta(minutes=minutes),
        text=text,
        channel_title=f"Channel {-chat % 100}",
        channel_username=f"chan{-chat % 100}",
        **extra,  # type: ignore[arg-type]
    )
    return (await services.posts.store(post, NOW)).post_id


async def seed(services: Services) -> dict[str, int]:
    term = check_new_term("биолаборатории")
    await services.framings.add_term("biolabs", term.text, term.key, 7, NOW)
    ids = {
        "first": await store(services, -1001, 10, 0, PUSH),
        "copy2": await store(services, -1002, 20, 3, PUSH),
        "copy3": await store(services, -1003, 30, 7, PUSH_EDITED),
        "copy4": await store(services, -1004, 40, 12, PUSH + " 👇"),
        "topic": await store(services, -1005, 50, 5, SAME_TOPIC),
        "forward": await store(
            services, -1006, 60, 90, PUSH, forwarded_from="Channel 1",
            forwarded_link="https://t.me/chan1/10", forwarded_from_chat_id=-1001,
            forwarded_from_message_id=10,
        ),
        "topic_copy": await store(services, -1008, 80, 45, SAME_TOPIC + " Источник ниже."),
        "exported": await store(
            services, -1007, 70, 120, "Биолаборатории снова в новостях: читайте у нас.",
            forwarded_from="Somewhere", forwarded_from_chat_id=ORIGIN,
        ),
    }  # fmt: skip
    await run_scan(services.framings, services.matches, services.clock)
    await run_indexing(services.db)
    return ids


async def propagation(services: Services) -> FramingPropagation:
    repo = PropagationRepository(services.db)
    [found] = await load(repo, NearDupRepository(services.db), "biolabs", START, NOW)
    return found


async def test_a_coordinated_push_is_found_and_a_same_topic_post_left_out(
    services: Services,
) -> None:
    ids = await seed(services)
    found = await propagation(services)
    assert found.first is not None and found.first.post_id == ids["first"]
    push = next(c for c in found.clusters if c.first.post_id == ids["first"])
    members = {p.post_id for p in push.posts}
    assert members == {ids[k] for k in ("first", "copy2", "copy3", "copy4", "forward")}
    assert push.near_duplicate and push.forwarded and push.coordinated
    assert push.channels == 5
    # The same topic in other words stays out; its own copy (2 channels) is no push.
    [other] = [c for c in found.clusters if c is not push]
    assert {p.post_id for p in other.posts} == {ids["topic"], ids["topic_copy"]}
    assert not other.coordinated and not other.forwarded
    assert found.pushes == (push,)


async def test_forwards_are_credited_to_their_origin(services: Services) -> None:
    ids = await seed(services)
    found = await propagation(services)
    lags = {a.channel_key: (a.lag, a.forwards) for a in found.amplifiers}
    assert lags["id:-1002"] == (timedelta(minutes=3), 0)
    assert lags["id:-1006"] == (timedelta(minutes=90), 1)
    assert "id:-1001" not in lags  # the first seen channel is the origin, not an amplifier
    assert lags["id:-1007"] == (timedelta(minutes=120), 1)  # forwarded from an unstored one
    graph = build([found], {}, {})
    assert graph.edges["id:-1001", "id:-1006"]["kind"] == "forward+near-copy"
    assert graph.edges[f"id:{ORIGIN}", "id:-1007"]["kind"] == "forward"
    assert graph.edges["id:-1001", "id:-1002"]["weight"] == 1
    assert ids["exported"] in {p.post_id for p in found.posts}


async def test_the_index_is_incremental_and_follows_edits(services: Services) -> None:
    ids = await seed(services)
    repo = NearDupRepository(services.db)
    assert await repo.queue_size() == 0  # the scan indexed every stored post
    bands = await services.db.fetchval("SELECT count(*) FROM post_bands")
    assert await index_queued(repo) == 0  # nothing is indexed twice
    assert await services.db.fetchval("SELECT count(*) FROM post_bands") == bands
    # An edit that rewrites the copy takes it out of the cluster.
    await services.posts.store(
        IncomingPost(-1002, 20, START + timedelta(minutes=3), SAME_TOPIC.upper(), "Channel 2",
                     "chan2", edited_at=NOW),
        NOW,
    )  # fmt: skip
    assert await repo.queue_size() == 1
    assert await index_queued(repo) == 1
    pairs = await repo.pairs_among([ids["first"], ids["copy2"]])
    assert pairs == []
    short = await store(services, -1009, 90, 1, "Срочно: биолаборатории Пентагона!")
    await store(services, -1010, 91, 2, "Срочно: биолаборатории Пентагона!")
    await index_queued(repo)
    assert await repo.pairs_among([short, short + 1]) == []  # too short to form a cluster


def test_cli_writes_clusters_and_a_gexf_gephi_reads(tmp_path: Path) -> None:
    import asyncio

    asyncio.run(_seed_file(tmp_path))
    db = tmp_path / "cli.db"
    rows = run_framewatch(
        "propagation", "--framing", "biolabs", "--since", "2026-11-25", "--format", "csv",
        cwd=tmp_path, db=db,
    )  # fmt: skip
    assert rows.returncode == 0, rows.stderr
    table = list(csv.DictReader(io.StringIO(rows.stdout)))
    assert [r["coordinated"] for r in table] == ["true", "false"]
    assert table[0]["first_link"] == "https://t.me/chan1/10"
    assert table[0]["channels"] == "5" and table[0]["near_duplicate"] == "true"
    jsonl = run_framewatch("propagation", cwd=tmp_path, db=db)
    assert json.loads(jsonl.stdout.splitlines()[0])["links"][0] == "https://t.me/chan1/10"
    graph_file = tmp_path / "net.gexf"
    made = run_framewatch(
        "network", "--format", "gexf", "--output", str(graph_file), cwd=tmp_path, db=db
    )
    assert made.returncode == 0, made.stderr
    graph = nx.read_gexf(graph_file)
    assert graph.nodes["id:-1001"]["username"] == "chan1"
    assert graph.nodes["id:-1001"]["matched_posts"] == 1
    assert graph.edges["id:-1001", "id:-1003"]["example"] == "https://t.me/chan3/30"
    bad = run_framewatch("propagation", "--framing", "nope", cwd=tmp_path, db=db)
    assert bad.returncode == 2 and "no framing is called 'nope'" in bad.stderr
    # --output writes only regular files: a symbolic link is refused, not replaced.
    kept = tmp_path / "kept.txt"
    kept.write_text("keep me")
    (tmp_path / "link").symlink_to(kept)
    for command in (("propagation",), ("network", "--format", "graphml")):
        refused = run_framewatch(*command, "--output", str(tmp_path / "link"), cwd=tmp_path, db=db)
        assert refused.returncode == 2 and "is a symbolic link" in refused.stderr
    assert kept.read_text() == "keep me" and (tmp_path / "link").is_symlink()


async def _seed_file(tmp_path: Path) -> None:
    from storage.db import open_database

    db = await open_database(tmp_path / "cli.db")
    try:
        settings = Settings(_env_file=None, bot_token="123:TEST", db_path=str(tmp_path / "cli.db"))
        await seed(Services.create(settings, db, lambda: NOW))
    finally:
        await db.close()


def test_forward_origins_from_links_and_exports() -> None:
    post = PropagationPost(1, -1002, "b", "B", 5, NOW, forwarded_link="https://t.me/Chan1/10")
    assert origin_of(post, {"chan1": -1001}) == Origin("id:-1001", 10)
    assert origin_of(post, {}) == Origin("@chan1", 10)  # a channel not stored here
    private = PropagationPost(1, -1002, "b", "B", 5, NOW, forwarded_link="https://t.me/c/77/3")
    assert origin_of(private, {}) == Origin("id:-1000000000077", 3)
    assert forward_origin_id("channel1741241258") == -1001741241258
    assert forward_origin_id("user12345") is None


def test_the_coordination_window_is_learned_between_floor_and_cap() -> None:
    def cluster(seconds: int) -> Cluster:
        posts = tuple(
            PropagationPost(i, -1000 - i, None, "C", i, NOW + timedelta(seconds=seconds * i))
            for i in range(2)
        )
        return Cluster(posts, near_duplicate=True, forwarded=False)

    assert learn_window([cluster(60)] * 3) == WINDOW_DEFAULT  # too few to learn from
    learned = learn_window([cluster(s) for s in range(300, 300 + 20 * 100, 100)])
    assert learned == timedelta(seconds=490)  # the 0.1 quantile of 300..2200 s
    assert learn_window([cluster(1)] * 20) == WINDOW_FLOOR
    assert learn_window([cluster(86_400)] * 20) == WINDOW_CAP


async def test_propagation_command_for_analysts(harness: Harness) -> None:
    await harness.grant_roles()
    await seed(harness.services)
    [answer] = await harness.command(ANALYST, "/propagation biolabs")
    assert "first seen in @chan1 at 08:00" in answer  # 06:00 UTC in Kyiv
    assert "@chan2: 1 posts, +3 min" in answer
    assert "@chan6: 1 posts, 1 forwarded, +1 h 30 min" in answer
    assert "pushed by 3 channels within 7 min with near-identical text" in answer
    assert "https://t.me/chan1/10" in answer
    refused = await harness.command(STRANGER, "/propagation biolabs")
    assert "only analysts and moderators" in refused[0]
    assert "No framing is called “nope”" in (await harness.command(ANALYST, "/propagation nope"))[0]
    assert "not a number of days" in (await harness.command(ANALYST, "/propagation biolabs x"))[0]


async def test_a_bot_api_forward_keeps_its_origin_channel(harness: Harness) -> None:
    payload = channel_post(-1001, 9, "Текст", username="echo")
    payload["channel_post"]["forward_origin"] = {
        "type": "channel",
        "chat": {"id": -1007, "type": "channel", "title": "Origin", "username": "origin"},
        "message_id": 55,
        "date": 1_700_000_000,
    }
    await harness.push(payload)
    row = await harness.db.fetchone(
        "SELECT forwarded_from_chat_id, forwarded_from_message_id FROM posts"
    )
    assert row is not None and tuple(row) == (-1007, 55)


async def test_the_digest_says_where_a_framing_was_first_seen_and_who_pushed_it(
    services: Services,
) -> None:
    await seed(services)
    [message] = await compose(services, START, NOW)
    lines = message.split("\n")
    heading = next(i for i, line in enumerate(lines) if line.startswith("<b>biolabs</b>"))
    first, push = lines[heading + 1 : heading + 3]
    assert first == 'first seen in @chan1 at 08:00 (<a href="https://t.me/chan1/10">link</a>)'
    assert push.startswith("pushed by 3 channels within 7 min with near-identical text: ")
    assert '<a href="https://t.me/chan3/30">@chan3</a>' in push


async def test_exports_keep_the_channel_a_post_was_forwarded_from(db: Backend) -> None:
    own = Path(__file__).parent / "fixtures" / "exports" / "new_format.json"
    await run_import(db, own)
    origins = await db.fetchall(
        "SELECT DISTINCT forwarded_from_chat_id FROM posts WHERE forwarded_from IS NOT NULL"
    )
    assert [r[0] for r in origins] == [-1001600000002]
    path = export_path("uponthepathofsalaf")  # a real export (skips when absent)
    messages = json.loads(path.read_text(encoding="utf-8"))["messages"]
    expected = sum(1 for m in messages if str(m.get("forwarded_from_id", "")).startswith("channel"))
    await run_import(db, path, "uponthepathofsalaf")
    chat_id = -1003204528972
    stored = await db.fetchval(
        "SELECT count(forwarded_from_chat_id) FROM posts WHERE chat_id = ?", (chat_id,)
    )
    assert expected > 0 and stored == expected


async def test_posts_stored_before_the_migration_are_queued_for_the_index(
    tmp_path: Path,
) -> None:
    conn = await aiosqlite.connect(tmp_path / "old.db", isolation_level=None)
    old = Database(conn, str(tmp_path / "old.db"))
    try:
        await migrate(old, [f for f in _migration_files() if f[0] < 11])
        async with old.transaction() as sql:  # as a release before 0011 stored them
            await sql.execute(
                "INSERT INTO channels (chat_id, title, added_at, updated_at)"
                " VALUES (-1001, 'A', '', ''), (-1002, 'B', '', '')"
            )
            await sql.execute(
                "INSERT INTO posts (chat_id, message_id, posted_at, text, stored_at)"
                " VALUES (-1001, 1, 0, ?, ''), (-1002, 2, 60, ?, '')",
                (PUSH, PUSH),
            )
        await migrate(old)
        repo = NearDupRepository(old)
        assert await repo.queue_size() == 2
        assert await index_queued(repo) == 2
        assert len(await repo.pairs_among([1, 2])) == 1
    finally:
        await conn.close()


def test_a_web_preview_forward_is_credited_to_its_origin_channel() -> None:
    page_file = SHARED_DATA / "tme_s" / "apkawa_rust-any2feed" / "message_media_forwarded_from.html"
    if not page_file.exists():
        pytest.skip(f"shared web-preview page not present: {page_file}")
    (preview,) = parse_page(page_file.read_text(encoding="utf-8")).posts
    post = to_incoming(preview, -1005, "Forwarder", NOW)
    as_seen = PropagationPost(
        1, post.chat_id, preview.username, "Forwarder", post.message_id, post.posted_at,
        post.forwarded_from_chat_id, post.forwarded_from_message_id, post.forwarded_link,
    )  # fmt: skip
    assert origin_of(as_seen, {}) == Origin("@dimsmirnov175", 44604)
    assert origin_of(as_seen, {"dimsmirnov175": -1004}) == Origin("id:-1004", 44604)


def test_a_push_needs_three_channels_within_one_window() -> None:
    def post(i: int, chat: int, minutes: int) -> PropagationPost:
        return PropagationPost(i, chat, None, "C", i, START + timedelta(minutes=minutes))

    window = timedelta(minutes=10)
    spread = Cluster((post(1, -1, 0), post(2, -2, 8), post(3, -3, 19)), True, False)
    assert coordinated(spread, window) == ()  # 3 channels, but never 3 within 10 minutes
    one_channel = Cluster((post(1, -1, 0), post(2, -1, 1), post(3, -1, 2)), True, False)
    assert coordinated(one_channel, window) == ()
    later = Cluster((post(1, -1, 0), post(2, -2, 30), post(3, -3, 33), post(4, -2, 35),
                     post(5, -4, 39)), True, False)  # fmt: skip
    assert [p.post_id for p in coordinated(later, window)] == [2, 3, 5]
    forwards_only = Cluster(later.posts, near_duplicate=False, forwarded=True)
    assert coordinated(forwards_only, window) == ()


async def test_the_scan_job_indexes_a_backlog_in_shares_and_schedules_the_rest(
    harness: Harness,
) -> None:
    share = RESCAN_BATCHES_PER_RUN * 500
    async with harness.db.atomic() as conn:  # posts stored before the index existed
        await conn.execute(
            "INSERT INTO channels (chat_id, title, added_at, updated_at) VALUES (-1, 'A', '', '')"
        )
        await conn.executemany(
            "INSERT INTO posts (chat_id, message_id, posted_at, text, stored_at)"
            " VALUES (-1, ?, 0, ?, '')",
            [(i, f"Post {i}: short.") for i in range(share + 1)],
        )
        await conn.execute("UPDATE post_scan SET needs_scan = 0")  # already scanned
    repo = NearDupRepository(harness.db)
    assert harness.app.job_queue is not None
    (scan_job,) = harness.app.job_queue.get_jobs_by_name("scan")
    await scan_job.run(harness.app)
    assert await repo.queue_size() == 1
    (follow_up,) = harness.app.job_queue.get_jobs_by_name(RESCAN_FOLLOW_UP)
    await follow_up.run(harness.app)
    assert await repo.queue_size() == 0
