"""Benchmark: the rule engine (bot.rules) against a naive baseline, on real or generated posts.

For 100, 1,000 and 10,000 terms (phrases of 2-3 consecutive words taken from the corpus, so
many of them really occur) it prints:
- compile time, cold: every morphology cache emptied first (the first count also loads the
  pymorphy3 dictionaries);
- posts/second of matcher.find() over the whole corpus, including normalisation and
  lemmatisation: a first pass with a fresh matcher (every distinct word resolved for the first
  time), a second pass (words already resolved, as in a long-running bot), and the first pass
  of a matcher compiled again in the same process (morphology caches warm, as after a rules
  change in a running bot); and the second pass as a scan runs it, find_many() over batches
  of 500 posts (bot/rules/batch_words.py: the words of a batch found at once);
- posts/second of a naive loop of one compiled `re` per term over a sample of the posts
  (exact word forms only, underscores treated as separators), and the
  ratio of the first pass to it.
Twice: with terms of any words and with words of 5+ letters only. Then the
time and memory of compiling 10,000 terms in a fresh child process (max RSS, then tracemalloc
peak in another child). The second line says which scanner ran (bot/rules/scanner.py:
interpreted, as installed; "compiled" only if someone compiled it with mypyc).

Uses the Russian channel posts in ../shared/data/posts/nktkln_ru_news_channels when present,
else a generated corpus. One core; times are this process's CPU time (time.process_time), so
other work on a shared machine inflates them less than wall time would.
Run: `.venv/bin/python bench/rules.py [--posts N]`;
`--terms 10000` runs only that row (terms of any words) and skips the memory children.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.rules import (
    TermRule,
    compile_matcher,
    morph,
)
from bot.rules.normalize import normalize_word, tokenize
from bot.rules.scanner import KIND

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "posts"
REAL = SHARED / "nktkln_ru_news_channels"
COUNTS = (100, 1000, 10_000)
NAIVE_SAMPLE = {100: 1000, 1000: 300, 10_000: 40}  # the naive loop is slow


BULK_BATCH = 500  # bot/scan.py BATCH_SIZE


def load_posts(limit: int) -> tuple[list[str], str]:
    if REAL.is_dir():
        posts: list[str] = []
        for path in sorted(REAL.glob("*_messages.json")):
            posts += [m["text"] for m in json.loads(path.read_text()) if m.get("text")]
        return posts[:limit], f"{min(len(posts), limit)} real posts from {REAL.name}"
    rng = random.Random(1)
    stems = ["жест", "добр", "вол", "отход", "войск", "арми", "город", "новост", "мир", "власт"]
    endings = ["", "а", "у", "ом", "ы", "ой", "ами", "ах", "е"]
    words = [s + e for s in stems for e in endings] + [f"слово{n}" for n in range(3000)]
    posts = [" ".join(rng.choices(words, k=70)) + "." for _ in range(limit)]
    return posts, f"{limit} generated posts"


def make_terms(posts: list[str], count: int, min_letters: int = 1) -> list[str]:
    """Phrases of 2-3 consecutive words taken from the corpus, so some terms really match.

    min_letters=1 takes any words (many terms are then stop-word phrases
    like "и в", which occur in nearly every post); min_letters=5 takes only words of five or
    more letters, closer to real framing terms.
    """
    rng = random.Random(count)
    terms: set[str] = set()
    while len(terms) < count:
        words = [t.norm for t in tokenize(rng.choice(posts))]
        if len(words) >= 3:
            start = rng.randrange(len(words) - 2)
            phrase = words[start : start + rng.choice((2, 3))]
            if all(len(w) >= min_letters and w.isalpha() for w in phrase) or min_letters == 1:
                terms.add(" ".join(phrase))
    return sorted(terms)


def clear_caches() -> None:
    for cached in (morph.paradigms, morph.predicted_lemmas, morph.stem, normalize_word):
        cached.cache_clear()


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


def timed(fn: Callable[[], int], items: int) -> tuple[float, int]:
    start = time.process_time()
    found = fn()
    return items / (time.process_time() - start), found


def run_count(posts: list[str], count: int, min_letters: int) -> None:
    terms = make_terms(posts, count, min_letters)
    rules = [TermRule(i, i % 50, t) for i, t in enumerate(terms)]
    clear_caches()
    start = time.process_time()
    matcher = compile_matcher(rules)
    compile_s = time.process_time() - start

    def ours() -> int:
        return sum(len({h.term_id for h in matcher.find(text)}) for text in posts)

    def bulk() -> int:  # what a scan runs: find_many over batches of the scan's size
        batches = (posts[i : i + BULK_BATCH] for i in range(0, len(posts), BULK_BATCH))
        return sum(len({h.term_id for h in hits}) for b in batches for hits in matcher.find_many(b))

    first, hits = timed(ours, len(posts))
    second, _ = timed(ours, len(posts))
    bulk()  # its own memo of word hashes (bot/rules/batch_codes.py) filled
    warm_bulk, bulk_hits = timed(bulk, len(posts))
    assert bulk_hits == hits, "find_many must find what find finds"
    # A running bot compiles a new matcher when the rules change, but keeps the process-wide
    # morphology caches: a fresh matcher's first pass with those caches warm.
    matcher = compile_matcher(rules)
    rebuilt, _ = timed(ours, len(posts))
    sample = posts[: NAIVE_SAMPLE[count]]
    slow, _ = timed(lambda: naive(sample, terms), len(sample))
    print(
        f"{count:>6} {compile_s:>9.2f}s {first:>12,.0f} {second:>12,.0f} {warm_bulk:>12,.0f} "
        f"{rebuilt:>12,.0f} "
        f"{slow:>10,.1f} {first / slow:>8,.0f}x {hits / len(posts):>10.1f}"
    )


def memory_child(terms_file: str, traced: bool) -> None:
    """Runs in a fresh process: memory of loading the dictionaries and compiling."""
    terms = Path(terms_file).read_text(encoding="utf-8").splitlines()
    rules = [TermRule(i, 1, t) for i, t in enumerate(terms)]
    before = peak_rss_mb()
    if traced:
        tracemalloc.start()
    start = time.process_time()
    compile_matcher(rules)
    elapsed = time.process_time() - start
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        print(f"  tracemalloc peak {peak:.0f} MB allocated by Python during the compile")
        return
    after = peak_rss_mb()
    print(
        f"  {len(rules):,} terms in a fresh process: {elapsed:.2f} s (dictionaries loaded "
        f"inside); peak RSS {before:.0f} MB before the compile, {after:.0f} MB after"
    )


def peak_rss_mb() -> float:
    """The process's peak resident memory. VmHWM, since ru_maxrss survives fork and exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000, help="at most this many posts")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--terms", type=int, choices=COUNTS, help="only this row")
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.traced)
        return
    posts, what = load_posts(args.posts)
    words = sum(len(tokenize(p)) for p in posts) / len(posts)
    print(f"corpus: {what}; {words:.0f} words per post on average")
    print(f"scanner: {KIND} (bot/rules/scanner.py)")
    if args.terms:
        header()
        run_count(posts, args.terms, 1)
        return
    for min_letters, label in ((1, "any words"), (5, "words of 5+ letters")):
        print(f"\nterms: phrases of 2-3 consecutive corpus words, {label}")
        header()
        for count in COUNTS:
            run_count(posts, count, min_letters)
    print(
        "\n1st pass: fresh matcher, every distinct word resolved for the first time, morphology"
        "\ncaches emptied before the compile; 2nd pass: same matcher again; rebuilt: the first"
        "\npass of a second matcher compiled from the same terms in the same process (as after a"
        "\nrules change in a running bot: fresh word memo, warm pymorphy3/Snowball caches)."
        "\nratio = 1st pass / naive. One core; normalisation and lemmas included. terms/post:"
        "\ndistinct terms found per post."
    )
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as terms_file:
        terms_file.write("\n".join(make_terms(posts, 10_000)))
        terms_file.flush()
        print("\ncompile 10,000 terms (any words) in a fresh process:")
        for traced in ([], ["--traced"]):
            command = [sys.executable, __file__, "--memory-child", terms_file.name, *traced]
            subprocess.run(command, check=True)


def header() -> None:
    print(
        f"{'terms':>6} {'compile':>10} {'1st pass/s':>12} {'2nd pass/s':>12} {'2nd bulk/s':>12} "
        f"{'rebuilt/s':>12} {'naive/s':>10} {'ratio':>9} {'terms/post':>10}"
    )


if __name__ == "__main__":
    main()
