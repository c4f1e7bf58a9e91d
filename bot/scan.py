"""The scan: match stored posts against every term and store what was found.

Two passes, both in batches so the bot keeps answering during a large scan:
1. terms added since the last scan are applied to every stored post (backfill);
2. posts stored or edited since the last scan are matched against all terms.
Matching is CPU work, so each batch runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.context import Clock
from bot.rules.matcher import Matcher, TermRule, compile_matcher
from storage.framings import FramingRepository
from storage.matches import MatchRepository
from storage.models import MatchRow, PostToScan, TermRow

BATCH_SIZE = 500


@dataclass(slots=True)
class ScanReport:
    posts_scanned: int = 0
    terms_backfilled: int = 0
    new_matches: list[MatchRow] = field(default_factory=list)


def match_posts(matcher: Matcher, posts: Sequence[PostToScan]) -> list[MatchRow]:
    """Pure: the first hit of each term in each post."""
    found: list[MatchRow] = []
    for post in posts:
        seen: set[int] = set()
        for hit in matcher.find(post.text):
            if hit.term_id not in seen:
                seen.add(hit.term_id)
                found.append(
                    MatchRow(post.post_id, hit.term_id, hit.framing_id, hit.start, hit.end)
                )
    return found


def _compile(terms: Sequence[TermRow]) -> Matcher:
    return compile_matcher(TermRule(t.term_id, t.framing_id, t.text) for t in terms)


async def run_scan(
    framings: FramingRepository, matches: MatchRepository, clock: Clock, batch: int = BATCH_SIZE
) -> ScanReport:
    report = ScanReport()
    await _backfill(framings, matches, clock, batch, report)
    await _scan_new_posts(framings, matches, clock, batch, report)
    return report


async def _backfill(
    framings: FramingRepository,
    matches: MatchRepository,
    clock: Clock,
    batch: int,
    report: ScanReport,
) -> None:
    terms = await framings.terms_to_backfill()
    if not terms:
        return
    matcher = await asyncio.to_thread(_compile, terms)
    term_ids = [t.term_id for t in terms]
    after = 0
    while True:
        posts = await matches.posts_after(after, batch)
        found = await asyncio.to_thread(match_posts, matcher, posts)
        done = len(posts) < batch
        report.new_matches += await matches.add_for_terms(found, term_ids, clock(), done)
        if done:
            break
        after = posts[-1].post_id
    report.terms_backfilled = len(terms)


async def _scan_new_posts(
    framings: FramingRepository,
    matches: MatchRepository,
    clock: Clock,
    batch: int,
    report: ScanReport,
) -> None:
    matcher = await asyncio.to_thread(_compile, await framings.all_terms())
    while posts := await matches.posts_needing_scan(batch):
        found = await asyncio.to_thread(match_posts, matcher, posts)
        new = await matches.replace_for_posts(posts, found, clock())
        report.posts_scanned += len(posts)
        report.new_matches += new
        if len(posts) < batch:
            break
