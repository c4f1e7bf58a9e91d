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

Each step runs on SQLite and on PostgreSQL (`--backend sqlite|postgresql|both`, default both;
PostgreSQL is tests/pg_server.py's throwaway server, started for the run and removed after),
with CPU seconds beside each figure: this process and the `framewatch` commands it ran, and
on PostgreSQL also the server's processes (read from /proc), since the database does much
of the work there. Then the scan with 1, 2 and 3 processes of claimed scan steps on
PostgreSQL, as `framewatch worker` runs them (bench/scale_pg.py scan_workers_on_pg, which runs
bench/scan_workers.py on a backlog of the same size).

Run: `nice .venv/bin/python bench/scale.py` (20,000 posts, 200 subscribers, 3 rounds of
searches: a few minutes here). Issue 9's sizes: `--posts 1000000 --subscribers 10000
--rounds 10` (about 45 minutes per backend, most of them the fan-out at Telegram's 30
messages/s: 10,000 digests of several messages each). `--keep DIR` keeps the SQLite
database; `--keep DIR --reuse` measures the bot part on it again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bench import scale_pg  # noqa: E402
from bench.scale_bot import (  # noqa: E402, F401 - NOW, TOKEN, ANALYST, percentile: other benches'
    ANALYST,
    NOW,
    TOKEN,
    percentile,
    through_the_bot,
)
from bench.scale_pg import Clock, is_pg  # noqa: E402

DAYS = 30
CHANNELS = 40
FRAMING_SHARE = 0.03  # posts that quote a demo sentence (most of which match a framing)
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


def env(target: str | Path) -> dict[str, str]:
    """The environment of a `framewatch` command on the SQLite file or PostgreSQL URL."""
    target = str(target)
    base = {k: v for k, v in os.environ.items() if k != "FRAMEWATCH_DATABASE_URL"}
    where = {"FRAMEWATCH_DATABASE_URL": target} if is_pg(target) else {"FRAMEWATCH_DB_PATH": target}
    return {**base, **where, "FRAMEWATCH_TIMEZONE": "UTC", "PTB_TIMEDELTA": "true"}


def timed_command(target: str | Path, *args: str) -> float:
    framewatch = Path(sys.executable).with_name("framewatch")
    start = time.perf_counter()
    subprocess.run([str(framewatch), *args], env=env(target), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def pack_phrases() -> list[str]:
    """The reference's terms: the default pack's plain phrases, casefolded."""
    import tomllib

    pack = tomllib.loads((ROOT / "bot/packs/default.toml").read_text(encoding="utf-8"))
    phrases = {t.split(" AND ")[0].strip().casefold() for f in pack["framing"] for t in f["terms"]}
    return sorted(p for p in phrases if all(ch.isalpha() or ch in " -'" for ch in p))


def reference_scan(db: Path) -> dict[str, Any]:
    """The baseline: plain phrases of the pack in one Aho-Corasick automaton, no language."""
    import sqlite3

    import ahocorasick

    phrases = pack_phrases()
    start = time.perf_counter()
    automaton = ahocorasick.Automaton()
    for i, phrase in enumerate(phrases):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the search queries")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (SQLite)")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: SQLite skips import and scan"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, where = args.child
        if kind == "ref":
            print(json.dumps(reference_scan(Path(where))))
        else:
            print(json.dumps({**scale_pg.reference_scan_pg(where, pack_phrases())}))
        return
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        run(args.keep, args)
    else:
        with tempfile.TemporaryDirectory(prefix="fw-scale-") as tmp:
            run(Path(tmp), args)


def run(tmp: Path, args: argparse.Namespace) -> None:
    export = tmp / "result.json"
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    load_uptime = Path("/proc/loadavg").read_text().split()[:3]
    server = scale_pg.start() if "postgresql" in backends else None
    try:
        if not (args.reuse and export.exists()):
            start = time.perf_counter()
            write_export(export, args.posts)
            print(
                f"FrameWatch scale benchmark ({os.cpu_count()} CPUs, load average "
                f"{' '.join(load_uptime)} at start): {args.posts:,} posts of {CHANNELS} "
                f"channels over {DAYS} days, export {export.stat().st_size / 1e6:.0f} MB "
                f"written in {time.perf_counter() - start:.0f} s"
            )
        summary = {}
        for name in backends:
            clock = Clock(server if name == "postgresql" else None)
            if name == "sqlite":
                target = str(tmp / "scale.db")
            else:
                assert server is not None
                target = scale_pg.new_database(server, f"fw_scale_{os.getpid()}")
            print(f"--- {'SQLite' if name == 'sqlite' else 'PostgreSQL'} ---")
            figures: dict[str, Any] = {}
            if not (args.reuse and name == "sqlite"):
                figures |= load(target, export, args, clock)
            figures |= measure_bot(target, args, clock)
            summary[name] = figures
            if server is not None and name == "postgresql":
                scale_pg.scan_workers_on_pg(server, export, args.posts)
        if len(summary) > 1:
            print_table(summary)
    finally:
        if server is not None:
            scale_pg.stop(server)
    print(f"load average at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


def cpu_text(cpu: dict[str, float]) -> str:
    server = f" + server {cpu['server']:.1f}" if cpu["server"] else ""
    return f"CPU {cpu['client']:.1f} s{server}"


def load(target: str, export: Path, args: argparse.Namespace, clock: Clock) -> dict[str, Any]:
    if not is_pg(target):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
    seconds = timed_command(target, "import", str(export))
    cpu = clock.lap()
    print(
        f"import (`framewatch import`, whole process): {seconds:.1f} s = "
        f"{args.posts / seconds:,.0f} posts/s; {cpu_text(cpu)}"
    )
    figures: dict[str, Any] = {"import": (args.posts / seconds, cpu)}
    timed_command(target, "framings", "import", str(ROOT / "bot/packs/default.toml"))
    clock.lap()
    seconds = timed_command(target, "scan")
    cpu = clock.lap()
    ref = reference(target)
    clock.lap()
    if is_pg(target):
        flagged = scale_pg.count_pg(target, "SELECT count(DISTINCT post_id) FROM matches")
    else:
        flagged = count(Path(target), "SELECT count(DISTINCT post_id) FROM matches")
    print(
        f"scan (`framewatch scan`, whole process): {seconds:.1f} s = "
        f"{args.posts / seconds:,.0f} posts/s; {flagged:,} posts flagged; {cpu_text(cpu)}"
    )
    ref_rate = ref["posts"] / ref["seconds"]
    print(
        f"reference (casefold + one Aho-Corasick of {len(pack_phrases())} plain phrases + "
        f"bulk insert of the hits): {ref['seconds']:.1f} s = {ref_rate:,.0f} posts/s; "
        f"{ref['flagged']:,} posts flagged; ratio scan/reference "
        f"{ref['seconds'] / seconds:.2f}"
    )
    figures["scan"] = (args.posts / seconds, cpu, ref_rate)
    return figures


def reference(target: str) -> dict[str, Any]:
    """The reference pipeline in its own process, on a copy (SQLite) or the database."""
    if is_pg(target):
        where = target
    else:
        where = str(Path(target).with_name("reference.db"))
        subprocess.run(["cp", target, where], check=True)
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", "ref-pg" if is_pg(target) else "ref", where],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        if not is_pg(target):
            Path(where).unlink()
    result: dict[str, Any] = json.loads(out)
    return result


def measure_bot(target: str, args: argparse.Namespace, clock: Clock) -> dict[str, Any]:
    bot = asyncio.run(through_the_bot(target, args.subscribers, args.rounds, clock))
    s = bot["search"]
    print(
        f"/search through the bot, {s['count']} queries: p50 {s['p50'] * 1000:.0f} ms, "
        f"p95 {s['p95'] * 1000:.0f} ms (goal <= 100), max {s['max'] * 1000:.0f} ms; "
        f"{cpu_text(bot['search_cpu'])} (with the query alone below)"
    )
    print(
        f"  the search query alone (SearchRepository.search): p95 "
        f"{bot['search_alone'] * 1000:.0f} ms"
    )
    d = bot["digest"]
    print(
        f"/digest of the last day through the bot: {d['seconds']:.2f} s (goal <= 2), "
        f"{d['messages']} message(s), {d['chars']:,} characters; 3 runs {cpu_text(d['cpu'])}"
    )
    f = bot["fanout"]
    rate = f["messages"] / f["seconds"]
    print(
        f"digest fan-out to {f['subscribers']:,} subscribers ({f['per_digest']} message(s) "
        f"each), {f['flood_waits']} flood waits injected: {f['messages']:,} messages in "
        f"{f['seconds']:.0f} s = {rate:.1f} messages/s (goal >= 25; Telegram's limit 30); "
        f"lost {f['lost']}, sent twice {f['twice']}, postponed {f['postponed']}; "
        f"{cpu_text(f['cpu'])}"
    )
    return {
        "search": (s["p95"], bot["search_alone"], bot["search_cpu"]),
        "digest": (d["seconds"], d["cpu"]),
        "fanout": (rate, f["lost"], f["twice"], f["cpu"]),
    }


def print_table(summary: dict[str, dict[str, Any]]) -> None:
    """The figures side by side (PostgreSQL's CPU includes its server processes')."""

    def cell(name: str, key: str) -> str:
        v = summary[name].get(key)
        if v is None:
            return "-"
        cpu = v[-1] if key != "scan" else v[1]
        total = f"{cpu['client'] + cpu['server']:.1f} CPU-s"
        if key == "import":
            return f"{v[0]:,.0f} posts/s, {total}"
        if key == "scan":
            return f"{v[0]:,.0f} posts/s (reference {v[2]:,.0f}), {total}"
        if key == "search":
            return f"p95 {v[0] * 1000:.0f} ms (query alone {v[1] * 1000:.0f} ms), {total}"
        if key == "digest":
            return f"{v[0]:.2f} s, {total} for 3"
        return f"{v[0]:.1f} msgs/s, lost {v[1]}, twice {v[2]}, {total}"

    print("\n| step | SQLite | PostgreSQL |\n|---|---|---|")
    for key in ("import", "scan", "search", "digest", "fanout"):
        print(f"| {key} | {cell('sqlite', key)} | {cell('postgresql', key)} |")


def count(db: Path, sql: str) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


if __name__ == "__main__":
    main()
