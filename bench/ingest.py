"""Benchmark: importing a Telegram Desktop export, against a plain executemany baseline.

Writes generated exports to a temporary folder (mixed old and new formats: text as a string
or as entity lists, dates with or without date_unixtime, edits, forwards, replies, media,
service messages), then, each in its own fresh process and fresh database opened with
storage.db.open_database (so the full-text triggers apply to both):

- import: the real `framewatch import` path (stream with ijson, MessageReader, batched
  PostRepository.store_many), timed from opening the file to the last commit;
- baseline: the same rows, built beforehand (untimed), inserted with a plain executemany in
  batches of the same size, one transaction each;
- a re-import of the large export in which 2% of the texts changed (edits);
- peak memory of the import at two file sizes: ru_maxrss of the process, and the Python
  heap's tracemalloc peak (in a separate run: tracemalloc slows the import down).

Run: `.venv/bin/python bench/ingest.py` (options: --messages N --small N).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.importing import BATCH_SIZE, import_export  # noqa: E402
from bot.sources.export import ExportReader, open_export  # noqa: E402
from bot.sources.export_messages import MessageReader  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.posts import _INSERT_POST, PostRepository  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CHANNEL_ID = 1_555_000_001
WORDS = [
    *[
        "жест",
        "доброй",
        "воли",
        "отход",
        "войск",
        "перегруппировка",
        "армия",
        "города",
        "новости",
        "мир",
        "заявил",
    ],
    *[
        "министр",
        "обороны",
        "сегодня",
        "вечером",
        "источники",
        "сообщают",
        "у",
        "нас",
        "есть",
        "информация",
        "что",
    ],
    *[
        "the",
        "front",
        "line",
        "statement",
        "officials",
        "said",
        "region",
        "village",
        "strike",
        "drone",
    ],
]


def message(rng: random.Random, i: int, changed: bool) -> dict[str, Any]:
    """One exported message; i % n decides its shape, so every run writes the same file."""
    words = rng.choices(WORDS, k=rng.randint(15, 45))
    text = " ".join(words) + (" (исправлено)" if changed else "")
    unix = 1_600_000_000 + i * 60
    m: dict[str, Any] = {"id": i, "type": "message", "date": "2020-09-13T12:26:40"}
    if i % 4:  # three in four carry date_unixtime (newer exports); the rest only `date`
        m["date_unixtime"] = str(unix)
    m.update({"from": "Bench channel", "from_id": f"channel{CHANNEL_ID}"})
    if i % 3 == 0:
        cut = len(words) // 2
        m["text"] = [
            " ".join(words[:cut]) + " ",
            {"type": "bold", "text": words[cut]},
            " ",
            {"type": "text_link", "text": " ".join(words[cut + 1 :]), "href": "https://e.org"},
        ]
        m["text_entities"] = [{"type": "plain", "text": text}]
    else:
        m["text"] = text
    if i % 5 == 0 or changed:
        m["edited"] = "2020-09-13T13:00:00"
        m["edited_unixtime"] = str(unix + 600 + (86400 if changed else 0))
    if i % 20 == 0:
        m["forwarded_from"] = "Другой канал"
    if i % 10 == 0:
        m["photo"] = "(File not included. Change data exporting settings to download.)"
    if i % 15 == 0:
        m["reply_to_message_id"] = max(1, i - 3)
    return m


def write_export(path: Path, count: int, changed_share: float = 0.0) -> None:
    """A one-chat export written message by message (the generator never holds it all)."""
    rng, changes = random.Random(7), random.Random(11)
    with path.open("w", encoding="utf-8") as out:
        out.write('{\n "name": "Bench channel",\n "type": "public_channel",\n')
        out.write(f' "id": {CHANNEL_ID},\n "messages": [\n')
        for i in range(1, count + 1):
            if i % 50 == 0:
                item: dict[str, Any] = {
                    "id": i,
                    "type": "service",
                    "action": "pin_message",
                    "date": "2020-09-13T12:26:40",
                    "message_id": i - 1,
                }
                rng.random()
            else:
                item = message(rng, i, changes.random() < changed_share)
            out.write("  " + json.dumps(item, ensure_ascii=False) + (",\n" if i < count else "\n"))
        out.write(" ]\n}\n")


def baseline_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    """The rows the import stores, built with the importer's own reader (untimed)."""
    reader = MessageReader(ZoneInfo("UTC"))
    with open_export(path) as source:
        for chat, item in ExportReader(source).messages():
            if item.get("type") != "message":
                continue
            p = reader.post(item, chat)
            yield (
                p.chat_id,
                p.message_id,
                int(p.posted_at.timestamp()),
                int(p.edited_at.timestamp()) if p.edited_at else None,
                p.text,
                p.source,
                NOW.isoformat(),
                p.views,
                p.author,
                p.forwarded_from,
                p.forwarded_link,
                p.reply_to,
                p.media,
            )


async def child_import(
    export: Path, db_path: Path, again: Path | None, trace: bool
) -> dict[str, Any]:
    db = await open_database(db_path)
    try:
        if trace:
            tracemalloc.start()
        result: dict[str, Any] = {}
        for label, path in (("import", export), ("again", again)):
            if path is None:
                continue
            start = time.perf_counter()
            with open_export(path) as source:
                report = await import_export(
                    source, PostRepository(db), NOW, MessageReader(ZoneInfo("UTC"))
                )
            result[label] = {
                "seconds": time.perf_counter() - start,
                "outcomes": dict(report.outcomes),
            }
        if trace:
            result["traced_peak"] = tracemalloc.get_traced_memory()[1]
        result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return result
    finally:
        await db.close()


async def child_baseline(export: Path, db_path: Path) -> dict[str, Any]:
    rows = list(baseline_rows(export))
    db = await open_database(db_path)
    try:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO channels (chat_id, username, title, is_member, added_at, updated_at)"
                " VALUES (?, NULL, 'Bench channel', 0, ?, ?)",
                (-1_000_000_000_000 - CHANNEL_ID, NOW.isoformat(), NOW.isoformat()),
            )
        start = time.perf_counter()
        for i in range(0, len(rows), BATCH_SIZE):
            async with db.transaction() as conn:
                await conn.executemany(_INSERT_POST, rows[i : i + BATCH_SIZE])
        return {"seconds": time.perf_counter() - start, "rows": len(rows)}
    finally:
        await db.close()


def run_child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000, help="the large export")
    parser.add_argument("--small", type=int, default=50_000, help="the small export")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *paths = args.child
        work = (
            child_baseline(Path(paths[0]), Path(paths[1]))
            if kind == "baseline"
            else child_import(
                Path(paths[0]),
                Path(paths[1]),
                Path(paths[2]) if paths[2] != "-" else None,
                kind == "trace",
            )
        )
        print(json.dumps(asyncio.run(work)))
        return
    with tempfile.TemporaryDirectory(prefix="fw-bench-") as tmp:
        report(Path(tmp), args.small, args.messages)


def report(tmp: Path, small: int, large: int) -> None:
    files = {small: tmp / "small.json", large: tmp / "large.json"}
    for count, path in files.items():
        write_export(path, count)
    edits = tmp / "large-edited.json"
    write_export(edits, large, changed_share=0.02)
    posts = {n: n - n // 50 for n in files}  # every 50th message is a service message
    print(
        f"FrameWatch import benchmark ({os.cpu_count()} CPUs); generated exports: "
        + ", ".join(f"{n:,} messages = {files[n].stat().st_size / 1e6:.0f} MB" for n in files)
    )

    runs = {
        n: run_child(
            "import", str(files[n]), str(tmp / f"i{n}.db"), str(edits) if n == large else "-"
        )
        for n in files
    }
    base = run_child("baseline", str(files[large]), str(tmp / "base.db"))
    traced = {n: run_child("trace", str(files[n]), str(tmp / f"t{n}.db"), "-") for n in files}

    ours = posts[large] / runs[large]["import"]["seconds"]
    plain = base["rows"] / base["seconds"]
    print(
        f"import (stream + store_many + FTS): {posts[large]:,} posts in "
        f"{runs[large]['import']['seconds']:.1f} s = {ours:,.0f} posts/s  (goal >= 5,000)"
    )
    print(
        f"baseline (plain executemany, same rows, same schema): {base['rows']:,} rows in "
        f"{base['seconds']:.1f} s = {plain:,.0f} rows/s"
    )
    print(f"ratio import/baseline: {ours / plain:.2f}  (goal >= 0.50)")
    again = runs[large]["again"]
    print(
        f"re-import with 2% of texts edited: {posts[large] / again['seconds']:,.0f} posts/s; "
        f"outcomes {again['outcomes']}"
    )
    for n in files:
        print(
            f"peak memory, {n:,}-message export ({files[n].stat().st_size / 1e6:.0f} MB): "
            f"ru_maxrss {runs[n]['maxrss_kb'] / 1024:.0f} MB; Python heap (tracemalloc) "
            f"{traced[n]['traced_peak'] / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main()
