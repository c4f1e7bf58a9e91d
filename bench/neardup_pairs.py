"""Builds tests/fixtures/neardup_pairs.jsonl: labelled pairs of real posts from ../shared/data.

Deterministic: candidate pairs are posts of DIFFERENT channels (nktkln_ru_news_channels)
sharing at least 30% of their words (so every pair is on one topic). The label does not
use shingles or MinHash; it aligns the two word sequences (difflib, runs of 4+ words,
links removed) and asks how much of each post the common runs cover:
- near-duplicate (1): the runs cover >= 80% of the shorter post and >= 60% of the longer
  (a copy, reformatted, trimmed or with a line added);
- other words (0): the runs cover <= 35% of the shorter post (the same event retold);
- anything between is left out as ambiguous.
A sample of each label was read by hand (see README, Propagation); the fixture stores
references (file, message ids) and labels only: the texts stay in ../shared/data.

Run: .venv/bin/python bench/neardup_pairs.py  (rewrites the fixture)
"""

from __future__ import annotations

import difflib
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.rules.normalize import tokenize  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "posts" / "nktkln_ru_news_channels"
FIXTURE = ROOT / "tests" / "fixtures" / "neardup_pairs.jsonl"
_LINK = re.compile(r"(?:https?://|\bt\.me/)\S+", re.IGNORECASE)
PER_LABEL = 130


def load_posts(folder: Path = DATA) -> dict[tuple[str, int], str]:
    posts = {}
    for file in sorted(folder.glob("*_messages.json")):
        for message in json.loads(file.read_text(encoding="utf-8")):
            if message.get("text"):
                posts[(file.name, int(message["message_id"]))] = message["text"]
    return posts


def plain_words(text: str) -> list[str]:
    return [t.norm for t in tokenize(_LINK.sub(" ", text))]


def coverage(a: list[str], b: list[str]) -> tuple[float, float]:
    """Shares of the shorter and of the longer post covered by common runs of 4+ words."""
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
    common = sum(block.size for block in blocks if block.size >= 4)
    short, long_ = sorted((len(a), len(b)))
    return common / max(short, 1), common / max(long_, 1)


def label(a: list[str], b: list[str]) -> int | None:
    if min(len(a), len(b)) < 8:
        return None
    shorter, longer = coverage(a, b)
    if shorter >= 0.8 and longer >= 0.6:
        return 1
    if shorter <= 0.35:
        return 0
    return None


def candidates(posts: dict[tuple[str, int], str]) -> list[tuple[tuple[str, int], ...]]:
    keys = sorted(posts)
    vocab = {k: set(plain_words(posts[k])) for k in keys}
    index: dict[str, list[tuple[str, int]]] = {}
    for k in keys:
        for w in vocab[k]:
            if len(w) >= 6:
                index.setdefault(w, []).append(k)
    found = set()
    for k in keys:
        counts: dict[tuple[str, int], int] = {}
        for w in vocab[k]:
            for other in index.get(w, ()) if len(index.get(w, ())) < 200 else ():
                if other > k and other[0] != k[0]:
                    counts[other] = counts.get(other, 0) + 1
        for other, n in counts.items():
            if n >= 3 and len(vocab[k] & vocab[other]) / len(vocab[k] | vocab[other]) >= 0.3:
                found.add((k, other))
    return sorted(found)


def main() -> int:
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent", file=sys.stderr)
        return 0
    posts = load_posts()
    labelled: dict[int, list[tuple[tuple[str, int], ...]]] = {0: [], 1: []}
    for a, b in candidates(posts):
        found = label(plain_words(posts[a]), plain_words(posts[b]))
        if found is not None:
            labelled[found].append((a, b))
    rng = random.Random(10)
    rows = []
    for value, pairs in labelled.items():
        for a, b in sorted(rng.sample(pairs, min(PER_LABEL, len(pairs)))):
            rows.append({"a": list(a), "b": list(b), "near_duplicate": bool(value)})
    FIXTURE.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    print(
        f"{len(labelled[1])} near-duplicate and {len(labelled[0])} other-words pairs found; "
        f"wrote {len(rows)} to {FIXTURE.relative_to(ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
