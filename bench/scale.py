"""Benchmark at scale: 1 M posts of 40 channels over 30 days, through the real commands and bot.

Steps, each printed with its figure, the goal and (where there is one) a baseline of this run:

1. generate a full-account Telegram Desktop export (40 public channels, posts spread over
   the 30 days before NOW; a few percent quote sentences of the demo posts, so framings match);
2. `framewatch import` of it, whole process: import rate;
3. `framewatch framings import` of the default pack, then `framewatch scan`, whole process:
   scan rate, beside a reference pipeline on the same posts in its own process (read texts,
   casefold, one pyahocorasick automaton of the pack's plain phrases, executemany hits);
4. the real application (build_application) against the fake Bot API (tests/fake_telegram.py):
   /search p50/p95 from pushing the update to the reply arriving (goal <= 100 ms), and
   /digest of the last day (goal <= 2 s);
5. the daily digest fanned out to 10,000 subscribers through the same fake API, with flood
   waits (429 retry_after) injected: messages/s (goal >= 25, Telegram allows 30), and every
   subscriber got each digest message exactly once (counted from the fake's sendMessage log).

Run: `.venv/bin/python bench/scale.py` (1 M posts, 10,000 subscribers; about 40 minutes here,
17 of them the fan-out at Telegram's 30 messages/s). Quick: `--posts 100000 --subscribers 1000`.
`--keep DIR` keeps the database; `--keep DIR --reuse` measures the bot part on it again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a digest time (09:00 UTC)
DAYS = 30
CHANNELS = 40
FRAMING_SHARE = 0.03  # posts that quote a demo sentence (most of which match a framing)
TOKEN = "123456:BENCH-token"
ANALYST = 7
SEARCHES = [
    "жест доброй воли",
    '"перегруппировка войск"',
    "армия",
    "drone strike",
    "перегруппир*",
    "officials OR министр",
    "нацисты NOT киев",
    "biolab*",
    "водопровод",
    "gesture of goodwill",
]
FILLER = (  # noqa: SIM905 - reads as the word list it is
    "сегодня вечером источники сообщают что министр обороны заявил армия города новости мир "
    "у нас есть информация по данным местных властей в районе продолжаются работы жители "
    "просят помощи обстрел ремонт дорог электричество водопровод школа больница "
    "сьогодні ввечері джерела повідомляють що міністр заявив місто новини жителі допомога "
    "the front line statement officials said region village strike drone power grid repairs "
    "residents school hospital weather traffic market prices report according to sources"
).split()


def sentences(rng: random.Random, count: int) -> str:
    parts = []
    for _ in range(count):
        words = rng.choices(FILLER, k=rng.randint(6, 14))
        parts.append(" ".join(words).capitalize() + ".")
    return " ".join(parts)


def write_export(path: Path, posts: int) -> None:
    """A full-account export; message i of channel c is dated evenly over the 30 days."""
    rng = random.Random(9)
    quotes = [
        p["text"] for p in json.loads((ROOT / "bot/demo/sample_posts.json").read_text())["posts"]
    ]
    start = int((NOW - timedelta(days=DAYS)).timestamp())
    step = DAYS * 86400 / posts
    with path.open("w", encoding="utf-8") as out:
        out.write('{"about": "bench", "chats": {"about": "", "list": [\n')
        for c in range(CHANNELS):
            n = posts // CHANNELS + (1 if c < posts % CHANNELS else 0)
            head = {"name": f"Bench channel {c}", "type": "public_channel", "id": 1_700_000_000 + c}
            out.write(("," if c else "") + json.dumps(head, ensure_ascii=False)[:-1])
            out.write(', "messages": [\n')
            for i in range(n):
                at = start + int((i * CHANNELS + c) * step)
                text = sentences(rng, rng.randint(2, 5))
                if rng.random() < FRAMING_SHARE:
                    text += " " + rng.choice(quotes)
                m = {
                    "id": i + 1,
                    "type": "message",
                    "date": "2026-01-01T00:00:00",
                    "date_unixtime": str(at),
                    "from": head["name"],
                    "from_id": f"channel{head['id']}",
                    "text": text,
                }
                out.write(("," if i else "") + json.dumps(m, ensure_ascii=False) + "\n")
            out.write("]}\n")
        out.write("]}}\n")


def env(db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "FRAMEWATCH_DB_PATH": str(db),
        "FRAMEWATCH_TIMEZONE": "UTC",
        "PTB_TIMEDELTA": "true",
    }


def timed_command(db: Path, *args: str) -> float:
    framewatch = Path(sys.executable).with_name("framewatch")
    start = time.perf_counter()
    subprocess.run([str(framewatch), *args], env=env(db), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def reference_scan(db: Path) -> dict[str, Any]:
    """The baseline: plain phrases of the pack in one Aho-Corasick automaton, no language."""
    import sqlite3
    import tomllib

    import ahocorasick

    pack = tomllib.loads((ROOT / "bot/packs/default.toml").read_text(encoding="utf-8"))
    phrases = {t.split(" AND ")[0].strip().casefold() for f in pack["framing"] for t in f["terms"]}
    phrases = {p for p in phrases if all(ch.isalpha() or ch in " -'" for ch in p)}
    start = time.perf_counter()
    automaton = ahocorasick.Automaton()
    for i, phrase in enumerate(sorted(phrases)):
        automaton.add_word(phrase, (i, len(phrase)))
    automaton.make_automaton()
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TEMP TABLE ref_hits (post_id INTEGER, term INTEGER, start_pos INTEGER,"
        " PRIMARY KEY (post_id, term))"
    )
    posts = 0
    cursor = conn.execute("SELECT id, text FROM posts")
    while rows := cursor.fetchmany(5000):
        hits = []
        for post_id, text in rows:
            for end, (term, length) in automaton.iter(text.casefold()):
                hits.append((post_id, term, end - length + 1))
        posts += len(rows)
        conn.executemany("INSERT OR IGNORE INTO ref_hits VALUES (?, ?, ?)", hits)
    conn.commit()
    found = conn.execute("SELECT count(DISTINCT post_id) FROM ref_hits").fetchone()[0]
    return {
        "seconds": time.perf_counter() - start,
        "posts": posts,
        "flagged": found,
        "phrases": len(phrases),
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def through_the_bot(db: Path, subscribers: int, rounds: int) -> dict[str, Any]:
    from bot.app import build_application
    from bot.config import Settings
    from bot.context import Services
    from bot.delivery import deliver_daily
    from bot.inbox import DurablePoller
    from handlers import ALLOWED_UPDATES
    from storage.db import open_database
    from tests.fake_telegram import FakeTelegram, private_message

    result: dict[str, Any] = {}
    async with FakeTelegram(token=TOKEN) as tg:
        settings = Settings(
            _env_file=None,
            bot_token=TOKEN,
            api_base_url=tg.base_url,  # type: ignore[call-arg]
            db_path=str(db),
            admin_ids=frozenset({1}),
            timezone="UTC",
        )
        database = await open_database(db)
        services = Services.create(settings, database, lambda: NOW)
        async with database.transaction() as conn:  # what an earlier run left (--reuse)
            for table in ("inbox", "deliveries", "subscribers"):
                await conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        await services.roles.grant(ANALYST, "analyst", 1, NOW)
        app = build_application(settings, services)
        try:
            async with app:
                poller = DurablePoller(app, services, ALLOWED_UPDATES, poll_timeout=0)
                offset: int | None = None

                async def command(text: str) -> tuple[float, list[str]]:
                    nonlocal offset
                    before = len(tg.sent_to(ANALYST))
                    start = time.perf_counter()
                    tg.push_update(private_message(ANALYST, text))
                    offset = await poller.fetch_once(offset)
                    await tg.wait_for_sent(before + 1, chat_id=ANALYST, timeout=60)
                    replies = [m.text for m in tg.sent_to(ANALYST)[before:]]
                    return time.perf_counter() - start, replies

                await command("/search warm up")
                times: list[float] = []
                slowest: dict[str, float] = {}
                for _ in range(rounds):
                    for query in SEARCHES:
                        seconds, replies = await command(f"/search {query}")
                        assert replies and "could not read" not in replies[0], (query, replies)
                        times.append(seconds)
                        slowest[query] = max(slowest.get(query, 0.0), seconds)
                alone = []  # the repository call only: what the bot adds is the rest
                for _ in range(rounds):
                    for query in SEARCHES:
                        start = time.perf_counter()
                        await services.search.search(query, limit=10)
                        alone.append(time.perf_counter() - start)
                result["search_alone"] = percentile(alone, 0.95)
                result["search"] = {
                    "count": len(times),
                    "p50": percentile(times, 0.5),
                    "p95": percentile(times, 0.95),
                    "max": max(times),
                }
                digest_times = []
                for _ in range(3):
                    seconds, replies = await command("/digest")
                    digest_times.append(seconds)
                result["digest"] = {
                    "seconds": statistics.median(digest_times),
                    "messages": len(replies),
                    "chars": sum(map(len, replies)),
                }
                result["fanout"] = await fan_out(tg, app, services, subscribers, deliver_daily)
        finally:
            await database.close()
    return result


async def fan_out(tg: Any, app: Any, services: Any, count: int, deliver: Any) -> dict[str, Any]:
    chats = list(range(10_000_001, 10_000_001 + count))
    async with services.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO subscribers (chat_id, active, subscribed_at, updated_at)"
            " VALUES (?, 1, ?, ?)",
            [(c, (NOW - timedelta(days=2)).isoformat(), NOW.isoformat()) for c in chats],
        )
    # Flood waits: every 500th subscriber's first attempt, and twice whoever comes next.
    for chat in chats[250::500]:
        tg.fail("sendMessage", chat_id=chat, status=429, retry_after=1, times=1)
    tg.fail("sendMessage", status=429, retry_after=2, times=2)
    before = len(tg.sent)
    start = time.perf_counter()
    report = await deliver(app.bot, services)
    seconds = time.perf_counter() - start
    sent = tg.sent[before:]
    per_chat = Counter((m.chat_id, m.text) for m in sent)
    (messages,) = {
        r[0]
        for r in await services.db.fetchall(
            "SELECT t.messages FROM deliveries d JOIN digest_texts t ON t.id = d.text_id"
            " WHERE d.period = ?",
            (report.period,),
        )
    }
    expected = json.loads(messages)
    lost = sum(1 for c in chats for text in expected if per_chat[(c, text)] == 0)
    twice = sum(1 for n in per_chat.values() if n > 1)
    flood = sum(1 for r in tg.requests_for("sendMessage") if r.status == 429)
    return {
        "subscribers": count,
        "messages": len(sent),
        "per_digest": len(expected),
        "seconds": seconds,
        "lost": lost,
        "twice": twice,
        "flood_waits": flood,
        "postponed": len(report.postponed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10, help="rounds of the search queries")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: skip generate, import and scan"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(reference_scan(Path(args.child[1]))))
        return
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        run(args.keep, args)
    else:
        with tempfile.TemporaryDirectory(prefix="fw-scale-") as tmp:
            run(Path(tmp), args)


def run(tmp: Path, args: argparse.Namespace) -> None:
    export, db = tmp / "result.json", tmp / "scale.db"
    if not args.reuse:
        load(export, db, args)
    measure_bot(db, args)


def load(export: Path, db: Path, args: argparse.Namespace) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    write_export(export, args.posts)
    print(
        f"FrameWatch scale benchmark ({os.cpu_count()} CPUs): {args.posts:,} posts of "
        f"{CHANNELS} channels over {DAYS} days, export {export.stat().st_size / 1e6:.0f} MB "
        f"written in {time.perf_counter() - start:.0f} s"
    )
    seconds = timed_command(db, "import", str(export))
    print(
        f"import (`framewatch import`, whole process): {seconds:.1f} s = "
        f"{args.posts / seconds:,.0f} posts/s"
    )
    timed_command(db, "framings", "import", str(ROOT / "bot/packs/default.toml"))
    seconds = timed_command(db, "scan")
    copy = db.with_name("reference.db")
    subprocess.run(["cp", str(db), str(copy)], check=True)
    ref = json.loads(
        subprocess.run(
            [sys.executable, __file__, "--child", "ref", str(copy)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    copy.unlink()
    flagged = count(db, "SELECT count(DISTINCT post_id) FROM matches")
    print(
        f"scan (`framewatch scan`, whole process): {seconds:.1f} s = "
        f"{args.posts / seconds:,.0f} posts/s; {flagged:,} posts flagged"
    )
    print(
        f"reference (casefold + one Aho-Corasick of {ref['phrases']} plain phrases + "
        f"executemany): {ref['seconds']:.1f} s = {ref['posts'] / ref['seconds']:,.0f} posts/s; "
        f"{ref['flagged']:,} posts flagged; ratio scan/reference "
        f"{ref['seconds'] / seconds:.2f}"
    )


def measure_bot(db: Path, args: argparse.Namespace) -> None:
    bot = asyncio.run(through_the_bot(db, args.subscribers, args.rounds))
    s = bot["search"]
    print(
        f"/search through the bot, {s['count']} queries: p50 {s['p50'] * 1000:.0f} ms, "
        f"p95 {s['p95'] * 1000:.0f} ms (goal <= 100), max {s['max'] * 1000:.0f} ms"
    )
    print(
        f"  the search query alone (SearchRepository.search): p95 "
        f"{bot['search_alone'] * 1000:.0f} ms"
    )
    d = bot["digest"]
    print(
        f"/digest of the last day through the bot: {d['seconds']:.2f} s (goal <= 2), "
        f"{d['messages']} message(s), {d['chars']:,} characters"
    )
    f = bot["fanout"]
    rate = f["messages"] / f["seconds"]
    print(
        f"digest fan-out to {f['subscribers']:,} subscribers ({f['per_digest']} message(s) "
        f"each), {f['flood_waits']} flood waits injected: {f['messages']:,} messages in "
        f"{f['seconds']:.0f} s = {rate:.1f} messages/s (goal >= 25; Telegram's limit 30); "
        f"lost {f['lost']}, sent twice {f['twice']}, postponed {f['postponed']}"
    )


def count(db: Path, sql: str) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


if __name__ == "__main__":
    main()
