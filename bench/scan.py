"""Benchmark: the whole `framewatch scan` process against a plain bulk pipeline, same data.

Generates a SQLite database with storage.db.open_database (so every index and full-text
trigger applies): 40 channels, N posts whose texts are real RU/UK/EN posts and articles from
../shared/data/posts when present (else generated sentences), and 300 terms of 30 framings
picked from the texts' own frequent words and word pairs. Then, each as a separate process
timed from outside:

- reference: read the texts from SQLite, casefold, one pyahocorasick automaton of the terms'
  exact forms, first hit of each term per post, executemany of the hits (own table);
- scan: `framewatch scan` on the same database (new posts against every term), matching in
  one process, then in one worker process per core (bot/scan_pool.py), each on a fresh copy;
- index (--index): `framewatch index`, the search and near-duplicate indexes, a stage apart;
- rescan: one new term added, then `framewatch scan` again (the term applied to every post).

Prints posts/s of both, their ratio, and the rescan time. Figures only, no assertions.
Run: `.venv/bin/python bench/scan.py --posts 200000` (and --posts 1000000).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.framings import FramingError, check_new_term  # noqa: E402
from bot.scan_pool import worker_count  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.framings import FramingRepository  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "posts"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CHANNELS = 40
TERMS = 300
FRAMINGS = 30
MAX_CHARS = 2000  # articles are cut to a long post's length
_WORD = re.compile(r"[^\W\d_]{4,}")


def real_texts() -> list[str]:
    """Texts of the real posts and articles in ../shared/data/posts (empty if absent)."""
    texts: list[str] = []
    for path in sorted((DATA / "nktkln_ru_news_channels").glob("*_messages.json")):
        texts += [m.get("text") or "" for m in json.loads(path.read_text(encoding="utf-8"))]
    for path, field in (
        (DATA / "unlp2025" / "train.jsonl", "content"),
        (DATA / "semeval2025_t10" / "ru_en_narratives.jsonl", "text"),
    ):
        if path.exists():
            with path.open(encoding="utf-8") as lines:
                texts += [json.loads(line).get(field) or "" for line in lines if line.strip()]
    return [t[:MAX_CHARS] for t in texts if len(t.strip()) >= 20]


def synthetic_texts(rng: random.Random, count: int = 5000) -> list[str]:
    words = [
        *(
            [
                "жест",
                "доброй",
                "воли",
                "отход",
                "войск",
                "перегруппировка",
                "армия",
                "города",
                "новости",
                "заявил",
            ]
        ),
        *(["влада", "україни", "війська", "новини", "місто", "заява"]),
        *(
            [
                "organized",
                "withdrawal",
                "goodwill",
                "gesture",
                "troops",
                "city",
                "news",
                "statement",
                "sanctions",
            ]
        ),
    ]
    return [
        " ".join(rng.choice(words) for _ in range(rng.randint(15, 90))).capitalize() + "."
        for _ in range(count)
    ]


def pick_terms(texts: list[str], rng: random.Random, count: int) -> list[str]:
    """Words and word pairs that each occur in 0.05%..1% of the texts: terms that match
    some posts, as a framing's terms do, not every post."""
    df: Counter[str] = Counter()
    for text in texts:
        words = _WORD.findall(text.casefold())
        df.update(set(words) | {f"{a} {b}" for a, b in itertools.pairwise(words)})
    low, high = max(2, len(texts) // 2000), max(3, len(texts) // 100)
    band = sorted(t for t, n in df.items() if low <= n <= high)
    rng.shuffle(band)
    pairs = [t for t in band if " " in t][: count * 2 // 3]
    return pairs + [t for t in band if " " not in t][: count - len(pairs)] + band[count:]


async def add_terms(db_path: Path, terms: list[str], count: int, first_framing: int) -> list[str]:
    """Add terms as /watch does, round-robin over the framings; returns those added."""
    db = await open_database(db_path)
    added: list[str] = []
    try:
        framings = FramingRepository(db)
        for text in terms:
            if len(added) == count:
                break
            try:
                term = check_new_term(text)
            except FramingError:
                continue
            slug = f"framing-{(first_framing + len(added)) % FRAMINGS:02d}"
            if (await framings.add_term(slug, term.text, term.key, None, NOW)).term_added:
                added.append(text)
    finally:
        await db.close()
    return added


def post_rows(texts: list[str], n: int, rng: random.Random) -> Iterator[tuple[object, ...]]:
    start = int((NOW - timedelta(days=365)).timestamp())
    stamp = NOW.isoformat()
    for i in range(n):
        chat = -1_001_000_000_000 - i % CHANNELS
        yield (chat, i // CHANNELS + 1, start + i * 30, rng.choice(texts), "import", stamp)


def generate(db_path: Path, posts: int, rng: random.Random) -> tuple[list[str], str, str]:
    """The database with its terms and posts; returns (terms, the spare term, text source)."""
    texts = real_texts()
    source = f"{len(texts)} real posts and articles"
    if not texts:
        texts, source = synthetic_texts(rng), "synthetic sentences (../shared/data absent)"
    candidates = pick_terms(texts, rng, TERMS + 50)
    terms = asyncio.run(add_terms(db_path, candidates, TERMS, 0))
    spare = next(t for t in candidates[::-1] if t not in terms)
    conn = sqlite3.connect(db_path)
    with conn:
        conn.executemany(
            "INSERT INTO channels (chat_id, username, title, is_member, added_at, updated_at)"
            " VALUES (?, ?, ?, 0, ?, ?)",
            [
                (-1_001_000_000_000 - c, f"channel{c:02d}", f"Channel {c}", NOW.isoformat(), "")
                for c in range(CHANNELS)
            ],
        )
        rows = post_rows(texts, posts, rng)
        while chunk := [row for _, row in zip(range(50_000), rows, strict=False)]:
            conn.executemany(
                "INSERT INTO posts (chat_id, message_id, posted_at, text, source, stored_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                chunk,
            )
    conn.close()
    return terms, spare, source


def reference(db_path: str) -> None:
    """The reference pipeline (run in its own process)."""
    import ahocorasick

    conn = sqlite3.connect(db_path)
    automaton = ahocorasick.Automaton()
    for term_id, framing_id, text in conn.execute("SELECT id, framing_id, text FROM terms"):
        folded = text.casefold()
        automaton.add_word(folded, (term_id, framing_id, len(folded)))
    automaton.make_automaton()
    conn.execute(
        "CREATE TABLE ref_matches (post_id INTEGER, term_id INTEGER, framing_id INTEGER,"
        " start_pos INTEGER, end_pos INTEGER, PRIMARY KEY (post_id, term_id))"
    )
    cursor = conn.execute("SELECT id, text FROM posts ORDER BY id")
    hits = 0
    while batch := cursor.fetchmany(1000):
        rows = []
        for post_id, text in batch:
            seen: set[int] = set()
            for end, (term_id, framing_id, length) in automaton.iter(text.casefold()):
                if term_id not in seen:
                    seen.add(term_id)
                    rows.append((post_id, term_id, framing_id, end + 1 - length, end + 1))
        with conn:
            conn.executemany("INSERT OR IGNORE INTO ref_matches VALUES (?, ?, ?, ?, ?)", rows)
        hits += len(rows)
    conn.close()
    print(hits)


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the process, its stdout). CPU time is given too: the
    machine is shared, and wall time then depends on what else runs."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=out)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if process.returncode != 0:
        sys.exit(f"{command} failed:\n{text}")
    return elapsed, usage.ru_utime + usage.ru_stime, text


def run(posts: int, seed: int, rescan: bool, index: bool) -> None:
    rng = random.Random(seed)
    framewatch = str(Path(sys.executable).parent / "framewatch")
    with tempfile.TemporaryDirectory(prefix="fw-bench-scan-") as tmp:
        folder = Path(tmp)
        db_path = folder / "bench.db"
        env = {**os.environ, "FRAMEWATCH_DB_PATH": str(db_path)}
        started = time.perf_counter()
        terms, spare, source = generate(db_path, posts, rng)
        print(f"{posts:,} posts of {CHANNELS} channels from {source}; {len(terms)} terms")
        print(f"  generated in {time.perf_counter() - started:.1f} s")
        pristine = folder / "pristine.db"
        shutil.copyfile(db_path, pristine)  # each scan below starts from the same file

        ref = timed([sys.executable, __file__, "--reference", str(db_path)], env, folder)
        print(f"  reference pipeline: {_rates(posts, ref)}  ({int(ref[2]):,} hits of exact forms)")
        cores = worker_count(0)
        for workers in sorted({1, cores}):
            shutil.copyfile(pristine, db_path)
            scan = timed(
                [framewatch, "scan"], {**env, "FRAMEWATCH_SCAN_WORKERS": str(workers)}, folder
            )
            label = f"framewatch scan, {workers} process{'es' if workers > 1 else ''}:"
            print(f"  {label:36}{_rates(posts, scan)}  ({scan[2].splitlines()[0]})")
            print(
                f"    ratio scan / reference: {ref[0] / scan[0]:.2f}x wall, "
                f"{ref[1] / scan[1]:.2f}x CPU (goal: >= 0.5x)"
            )
        if index:
            done = timed([framewatch, "index"], env, folder)
            print(f"  framewatch index (search and near-duplicates): {_rates(posts, done)}")
        if rescan:
            asyncio.run(add_terms(db_path, [spare], 1, 7))
            again = timed([framewatch, "scan"], env, folder)
            print(
                f"  rescan after one new term ({spare!r}): {again[0]:.1f} s wall, "
                f"{again[1]:.1f} s CPU ({again[2].splitlines()[0]}) (goal at 1M posts: < 300 s)"
            )


def _rates(posts: int, measured: tuple[float, float, str]) -> str:
    wall, cpu, _ = measured
    return (
        f"{wall:6.1f} s wall {posts / wall:8,.0f} posts/s, {cpu:6.1f} s CPU {posts / cpu:8,.0f}"
        " posts/CPU-s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=200_000, help="posts (default 200000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-rescan", action="store_true", help="skip the rescan timing")
    parser.add_argument(
        "--index", action="store_true", help="also time framewatch index (a slow stage)"
    )
    parser.add_argument("--reference", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:
        reference(args.reference)
    else:
        run(args.posts, args.seed, not args.no_rescan, args.index)


if __name__ == "__main__":
    main()
