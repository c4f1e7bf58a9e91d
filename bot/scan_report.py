"""What `framewatch scan` prints: a summary per framing, or every new match with --verbose.

A scan of a large archive finds hundreds of thousands of matches: printing each one took
longer than finding it. The summary needs one example per framing, so only those are read
back from the database; `--verbose` (or `framewatch export matches`) gives every row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.index_backlog import backlog
from bot.links import post_link
from bot.scan import ScanReport
from storage.framings import FramingRepository
from storage.matches import MatchRepository
from storage.models import FlaggedPost, MatchRow


@dataclass(frozen=True, slots=True)
class FramingCount:
    """New matches of one framing in one scan."""

    framing_id: int
    matches: int
    posts: int
    example: MatchRow  # its first new match


def count_by_framing(rows: Sequence[MatchRow]) -> list[FramingCount]:
    """Pure: one count per framing, most matches first (then by framing id)."""
    matches: dict[int, int] = {}
    posts: dict[int, set[int]] = {}
    examples: dict[int, MatchRow] = {}
    for m in rows:
        matches[m.framing_id] = matches.get(m.framing_id, 0) + 1
        posts.setdefault(m.framing_id, set()).add(m.post_id)
        examples.setdefault(m.framing_id, m)
    counts = [FramingCount(f, n, len(posts[f]), examples[f]) for f, n in matches.items()]
    return sorted(counts, key=lambda c: (-c.matches, c.framing_id))


def format_scan(
    report: ScanReport,
    counts: Sequence[FramingCount],
    slugs: Mapping[int, str],
    examples: Mapping[str, FlaggedPost],
    every_match: Sequence[FlaggedPost] | None = None,
    unindexed: int = 0,
) -> str:
    """Pure: the text `framewatch scan` prints.

    slugs: framing id -> slug; examples: slug -> its described example (a framing whose
    example post was deleted meanwhile is listed without one); every_match: --verbose;
    unindexed: posts waiting for the search and near-duplicate indexes (bot/indexing.py).
    """
    lines = [
        f"Scanned {report.posts_scanned} posts; applied {report.terms_backfilled} new terms "
        f"to stored posts; {len(report.new_matches)} new matches."
    ]
    if report.rescan_pending:
        lines.append("A rescan of new terms is unfinished; the next scan continues it.")
    if counts:
        lines.append("New matches per framing (matches, posts, an example):")
    for c in counts:
        slug = slugs.get(c.framing_id, f"#{c.framing_id}")
        line = f"  {slug:24} {c.matches:>8} in {c.posts:>8} posts"
        example = examples.get(slug)
        if example is not None:
            line += f"  e.g. {_link(example)}  “{example.matched_text}”"
        lines.append(line)
    if every_match is not None:
        lines += [
            f"  {f.framing_slug:24} {_link(f)}  “{f.matched_text}” (term: {f.term})"
            for f in every_match
        ]
    elif len(report.new_matches) > len(counts):
        lines.append("Every match: framewatch scan --verbose, or framewatch export matches.")
    if unindexed:
        lines.append(
            f"{unindexed} posts wait for the search and near-duplicate indexes: "
            "framewatch index builds them now (a running bot does it in the background)."
        )
    return "\n".join(lines)


def _link(f: FlaggedPost) -> str:
    return post_link(f.chat_id, f.channel_username, f.message_id)


async def scan_output(
    report: ScanReport, framings: FramingRepository, matches: MatchRepository, verbose: bool
) -> str:
    """format_scan() with what it needs read in bulk: the framings' slugs, their examples,
    and with verbose every new match."""
    counts = count_by_framing(report.new_matches)
    slugs = {framing_id: slug for framing_id, (slug, _) in (await framings.names()).items()}
    described = await matches.describe([c.example for c in counts])
    examples = {f.framing_slug: f for f in described}
    every = await matches.describe(report.new_matches) if verbose else None
    waiting = await backlog(matches.db)
    return format_scan(report, counts, slugs, examples, every, waiting.total)
