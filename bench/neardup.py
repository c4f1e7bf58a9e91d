"""Benchmark: near-duplicate quality on labelled real pairs, and lookup cost at 1 M posts.

1. Quality: tests/fixtures/neardup_pairs.jsonl (real posts of ../shared/data, labelled by
   bench/neardup_pairs.py, sample read by hand). The method = the LSH bands share a key
   AND the exact Jaccard of word shingles >= bot.neardup.THRESHOLD. Prints precision and
   recall at that threshold, and a sweep (how THRESHOLD was chosen).
2. Cost: a real database (every migration) whose index holds --posts posts (their band
   keys written directly, as the index would; posts rows only for the real texts), then
   the real incremental path (bot.neardup_index.index_queued) indexes 500 real posts:
   fingerprint, band lookup, exact check of candidates, write. Printed per post, against
   the same run on an index of 10 000 posts (baseline).
3. Fingerprint before/after: the batched numpy MinHash of bot.neardup against the way it
   was done before migration 0013 (bot.rules.normalize.tokenize, SHA-1 per shingle, one
   datasketch MinHash per post, BLAKE2 per band), kept here only as the baseline.

Run: `.venv/bin/python bench/neardup.py [--posts 1000000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy
from datasketch import MinHash

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from neardup_pairs import DATA, FIXTURE, load_posts  # noqa: E402

from bot import neardup  # noqa: E402
from bot.neardup_index import index_queued  # noqa: E402
from bot.rules.normalize import tokenize  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.neardup import NearDupRepository  # noqa: E402


def verdicts(
    posts: dict[tuple[str, int], str], rows: list[dict[str, object]]
) -> list[tuple[bool, bool, float]]:
    """(label, LSH candidate, exact Jaccard) per pair."""
    found = []
    for row in rows:
        a = neardup.fingerprint(0, posts[tuple(row["a"])])  # type: ignore[arg-type]
        b = neardup.fingerprint(0, posts[tuple(row["b"])])  # type: ignore[arg-type]
        candidate = bool(set(a.keys) & set(b.keys))
        found.append(
            (bool(row["near_duplicate"]), candidate, neardup.jaccard(a.shingles, b.shingles))
        )
    return found


def precision_recall(
    found: list[tuple[bool, bool, float]], threshold: float
) -> tuple[float, float]:
    said = [(label, cand and value >= threshold) for label, cand, value in found]
    true_pos = sum(1 for label, yes in said if label and yes)
    predicted = sum(1 for _, yes in said if yes)
    actual = sum(1 for label, _ in said if label)
    return true_pos / max(predicted, 1), true_pos / max(actual, 1)


def quality() -> None:
    if not DATA.is_dir():
        print(f"quality: skipped, {DATA} is absent")
        return
    posts = load_posts()
    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    found = verdicts(posts, rows)
    positives = sum(1 for label, _, _ in found if label)
    print(
        f"quality: {len(rows)} labelled pairs ({positives} near-duplicates, "
        f"{len(rows) - positives} same topic in other words)"
    )
    precision, recall = precision_recall(found, neardup.THRESHOLD)
    print(f"  THRESHOLD {neardup.THRESHOLD}: precision {precision:.3f}, recall {recall:.3f}")
    print(
        "  sweep: "
        + ", ".join(
            "{:.2f}: P {:.3f} R {:.3f}".format(t, *precision_recall(found, t))
            for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
        )
    )


async def cost(filler: int, texts: list[str]) -> tuple[float, float]:
    """Seconds per post: one band lookup alone, and indexing 500 real posts (fingerprint,
    lookup, exact check, write) into an index of `filler` posts."""
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(Path(folder) / "bench.db")
        # Filler posts: band keys only (random, as unrelated posts' are), post ids above
        # the real posts'; their posts rows are absent (foreign keys are off for the load).
        # Loaded in key order, the secondary index built after: the same B-trees as keys
        # written one post at a time, in a fraction of the time.
        rng = numpy.random.default_rng(filler)
        keys = numpy.sort(rng.integers(-(2**63), 2**63 - 1, filler * neardup.BANDS))
        owners = rng.integers(10_000_000, 10_000_000 + filler, keys.size)
        rows = zip(keys.tolist(), owners.tolist(), strict=True)
        await db.fetchall("PRAGMA foreign_keys = OFF")
        async with db.transaction() as conn:
            await conn.execute("DROP INDEX post_bands_post")
            await conn.executemany("INSERT OR IGNORE INTO post_bands VALUES (?, ?)", rows)
            await conn.execute("CREATE INDEX post_bands_post ON post_bands(post_id)")
            await conn.execute(
                "INSERT INTO channels (chat_id, title, added_at, updated_at)"
                " VALUES (-1, 'b', '', '')"
            )
            await conn.executemany(
                "INSERT INTO posts (chat_id, message_id, posted_at, text, stored_at)"
                " VALUES (-1, ?, 0, ?, '')",
                list(enumerate(texts)),
            )
        await db.fetchall("PRAGMA foreign_keys = ON")
        repo = NearDupRepository(db)
        prints = neardup.fingerprints(list(enumerate(texts)))
        start = time.perf_counter()
        for p in prints:  # one lookup per post: the worst case (the index batches them)
            await repo.posts_with_keys(p.keys)
        lookup = (time.perf_counter() - start) / len(prints)
        start = time.perf_counter()
        done = await index_queued(repo, batch=500)
        elapsed = time.perf_counter() - start
        await db.close()
        return lookup, elapsed / max(done, 1)


def baseline_keys(text: str) -> tuple[int, ...]:
    """The band keys as computed before 0013: Token objects, one MinHash per post."""
    normed = [t.norm for t in tokenize(neardup._LINK.sub(" ", text))]
    if len(normed) < neardup.MIN_WORDS:
        return ()
    size = neardup.SHINGLE_WORDS
    found = {" ".join(normed[i : i + size]) for i in range(len(normed) - size + 1)}
    minhash = MinHash(num_perm=neardup.NUM_PERM, seed=neardup.SEED, scheme="affine32")
    minhash.update_batch([s.encode("utf-8") for s in found])
    keys = []
    for band in range(neardup.BANDS):
        rows = minhash.hashvalues[band * neardup.ROWS : (band + 1) * neardup.ROWS]
        digest = hashlib.blake2b(rows.tobytes(), digest_size=8)
        digest.update(band.to_bytes(2, "little"))
        keys.append(int.from_bytes(digest.digest(), "little", signed=True))
    return tuple(keys)


def fingerprint_cost(texts: list[str]) -> None:
    posts = list(enumerate(texts))
    start = time.perf_counter()
    before = [baseline_keys(text) for text in texts]
    old = (time.perf_counter() - start) / len(texts)
    start = time.perf_counter()
    after = neardup.fingerprints(posts)
    new = (time.perf_counter() - start) / len(texts)
    indexed = sum(1 for keys in before if keys) == sum(1 for p in after if p.keys)
    print(
        f"fingerprint (shingles, MinHash, band keys) of the {len(texts)} longest real posts: "
        f"{new * 1000:.2f} ms/post batched vs {old * 1000:.2f} ms/post one MinHash per post "
        f"(before 0013; {old / new:.1f}x; same posts indexed: {indexed})"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=1_000_000)
    args = parser.parse_args()
    quality()
    if not DATA.is_dir():
        return 0
    texts = sorted(load_posts().values(), key=len)[-500:]
    fingerprint_cost(texts)
    small = asyncio.run(cost(10_000, texts))
    large = asyncio.run(cost(args.posts, texts))
    for name, at in (("lookup (band keys -> candidates)", 0), ("indexing, every step", 1)):
        print(
            f"{name}: {small[at] * 1000:.2f} ms/post at 10,000 indexed posts (baseline), "
            f"{large[at] * 1000:.2f} ms/post at {args.posts:,} ({large[at] / small[at]:.2f}x)"
        )
    print(
        f"indexing rate: {1 / small[1]:,.0f} posts/s at 10,000 indexed posts, "
        f"{1 / large[1]:,.0f} posts/s at {args.posts:,}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
