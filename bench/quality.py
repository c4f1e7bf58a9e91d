"""Precision and recall of a framing pack on the quality set's posts.

The posts in tests/fixtures/rules_quality.toml ([[post]]) are labelled with the framings
(slugs) they should be flagged with; harmless uses and watchdog debunks are labelled with
none. A framing the pack flags but the label lacks is a false positive, a labelled framing it
misses a false negative. Prints the figures overall and per language, and every error.
Run: `.venv/bin/python bench/quality.py [PACK.toml]` (default: bot/packs/default.toml).
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.rules import TermRule, compile_matcher  # noqa: E402

QUALITY = ROOT / "tests" / "fixtures" / "rules_quality.toml"


def load_pack(path: Path) -> tuple[list[TermRule], dict[int, str]]:
    pack = tomllib.loads(path.read_text(encoding="utf-8"))
    rules: list[TermRule] = []
    slugs: dict[int, str] = {}
    for framing_id, framing in enumerate(pack["framing"], start=1):
        slugs[framing_id] = framing["slug"]
        rules += [TermRule(len(rules) + 1, framing_id, term) for term in framing["terms"]]
    return rules, slugs


def ratio(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pack", nargs="?", type=Path, default=ROOT / "bot/packs/default.toml")
    args = parser.parse_args()
    try:
        rules, slugs = load_pack(args.pack)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        parser.exit(2, f"cannot read the pack {args.pack}: {exc!r}\n")
    matcher = compile_matcher(rules)
    posts: list[dict[str, Any]] = tomllib.loads(QUALITY.read_text(encoding="utf-8"))["post"]
    counts: dict[str, Counter[str]] = {}
    errors = []
    for post in posts:
        expected = set(post["framings"])
        found = {slugs[hit.framing_id] for hit in matcher.find(post["text"])}
        for language in (post["lang"], "all"):
            tally = counts.setdefault(language, Counter())
            tally["tp"] += len(found & expected)
            tally["fp"] += len(found - expected)
            tally["fn"] += len(expected - found)
        for slug in sorted(found - expected):
            errors.append(f"  false positive {slug}: {post['text']}")
        for slug in sorted(expected - found):
            errors.append(f"  false negative {slug}: {post['text']}")
    missing = {s for post in posts for s in post["framings"]} - set(slugs.values())
    print(f"pack: {args.pack} ({len(rules)} terms); quality set: {len(posts)} posts")
    if missing:
        print(f"framings the set expects but the pack lacks: {', '.join(sorted(missing))}")
    print(f"{'language':<9} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}")
    for language in ("ru", "uk", "en", "all"):
        t = counts.get(language, Counter())
        precision = ratio(t["tp"], t["tp"] + t["fp"])
        recall = ratio(t["tp"], t["tp"] + t["fn"])
        print(f"{language:<9} {precision:>9} {recall:>7} {t['tp']:>4} {t['fp']:>4} {t['fn']:>4}")
    print("errors:" if errors else "errors: none")
    print("\n".join(errors))


if __name__ == "__main__":
    main()
