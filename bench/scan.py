"""Benchmark: the scan (phrase matcher) against a naive baseline, on real or generated posts.

Prints posts/second for the project's matcher and for a naive loop of one compiled `re` per
term over the same posts, and their ratio, for 100 and 1,000 terms. Uses the real Russian
channel posts in ../shared/data/posts/nktkln_ru_news_channels when present, else a generated
corpus. Run: `.venv/bin/python bench/scan.py` (or `make bench`).
"""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

from bot.rules import TermRule, compile_matcher
from bot.rules.normalize import tokenize

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "posts"
REAL = SHARED / "nktkln_ru_news_channels"


def load_posts(limit: int = 5000) -> tuple[list[str], str]:
    if REAL.is_dir():
        posts: list[str] = []
        for path in sorted(REAL.glob("*_messages.json")):
            posts += [m["text"] for m in json.loads(path.read_text()) if m.get("text")]
        return posts[:limit], f"{min(len(posts), limit)} real posts from {REAL.name}"
    rng = random.Random(1)
    words = ["жест", "доброй", "воли", "отход", "войск", "армия", "города", "новости", "мир"]
    return [" ".join(rng.choices(words, k=60)) for _ in range(limit)], f"{limit} generated posts"


def make_terms(posts: list[str], count: int) -> list[str]:
    """Phrases of 2-3 consecutive words taken from the corpus, so some terms really match."""
    rng = random.Random(count)
    terms: set[str] = set()
    while len(terms) < count:
        words = [t.norm for t in tokenize(rng.choice(posts))]
        if len(words) >= 3:
            start = rng.randrange(len(words) - 2)
            terms.add(" ".join(words[start : start + rng.choice((2, 3))]))
    return sorted(terms)


def naive(posts: list[str], terms: list[str]) -> int:
    # Underscores separate words too (Telegram markdown leaves `__` around words).
    patterns = [
        re.compile(
            r"(?<![^\W_])" + r"[\W_]+".join(map(re.escape, t.split())) + r"(?![^\W_])",
            re.IGNORECASE,
        )
        for t in terms
    ]
    return sum(1 for text in posts for p in patterns if p.search(text.replace("ё", "е")))


def ours(posts: list[str], terms: list[str]) -> int:
    matcher = compile_matcher(TermRule(i, 1, t) for i, t in enumerate(terms))
    return sum(len({h.term_id for h in matcher.find(text)}) for text in posts)


def rate(fn: object, posts: list[str], terms: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    found = fn(posts, terms)  # type: ignore[operator]
    return len(posts) / (time.perf_counter() - start), found


def main() -> None:
    posts, what = load_posts()
    print(f"corpus: {what}")
    print(f"{'terms':>6} {'matcher posts/s':>16} {'naive posts/s':>14} {'ratio':>7} {'hits':>12}")
    for count in (100, 1000):
        terms = make_terms(posts, count)
        sample = posts if count <= 100 else posts[:1000]  # the naive loop is slow
        fast, hits = rate(ours, sample, terms)
        slow, naive_hits = rate(naive, sample, terms)
        print(
            f"{count:>6} {fast:>16,.0f} {slow:>14,.0f} {fast / slow:>6.1f}x "
            f"{hits:>5}/{naive_hits:<6}"
        )


if __name__ == "__main__":
    main()
