"""Matching a batch of posts: the first hit of each term in each post (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.rules import Matcher
from storage.models import MatchRow, PostToScan


def match_posts(
    matcher: Matcher, posts: Sequence[PostToScan], after: Mapping[int, int] | None = None
) -> list[MatchRow]:
    """Pure: the first hit of each term in each post.

    `after` (rescans): only these terms, each only in posts with an id above its cursor.
    """
    found: list[MatchRow] = []
    for post, hits in zip(posts, matcher.find_many([p.text for p in posts]), strict=True):
        seen: set[int] = set()
        for hit in hits:
            if hit.term_id in seen:
                continue
            if after is not None and post.post_id <= after.get(hit.term_id, post.post_id):
                continue
            seen.add(hit.term_id)
            found.append(MatchRow(post.post_id, hit.term_id, hit.framing_id, hit.start, hit.end))
    return found
