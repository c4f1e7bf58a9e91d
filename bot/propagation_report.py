"""Propagation of each framing in a period: loads the rows, runs bot/propagation.py.

The one place the CLI (`framewatch propagation|network`), /propagation and the digest get
propagation from. Watchdog channels (they quote framings to debunk them) are left out of
first seen, amplifiers and clusters; the network shows them, marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import propagation as prop
from bot.propagation import Amplifier, Cluster, PropagationPost
from storage.backend import Backend
from storage.neardup import NearDupRepository
from storage.propagation import FramingPost, PropagationRepository


@dataclass(frozen=True, slots=True)
class FramingPropagation:
    framing: str
    posts: tuple[PropagationPost, ...]
    first: PropagationPost | None
    amplifiers: tuple[Amplifier, ...]
    clusters: tuple[Cluster, ...]
    window: timedelta
    pairs: tuple[tuple[int, int, float], ...]

    @property
    def pushes(self) -> tuple[Cluster, ...]:
        return tuple(c for c in self.clusters if c.coordinated)


def window_of(minutes: float | None) -> timedelta | None:
    """Settings.coordination_window (FRAMEWATCH_COORDINATION_WINDOW, minutes), or None:
    learn it from the data."""
    return None if minutes is None else timedelta(minutes=minutes)


def as_post(row: FramingPost) -> PropagationPost:
    return PropagationPost(
        row.post_id,
        row.chat_id,
        row.channel_username,
        row.channel_title,
        row.message_id,
        row.posted_at,
        row.forwarded_chat_id,
        row.forwarded_message_id,
        row.forwarded_link,
    )


async def load(
    repo: PropagationRepository,
    neardups: NearDupRepository,
    framing: str | None,
    since: datetime,
    until: datetime,
    window: timedelta | None = None,
) -> list[FramingPropagation]:
    rows = [r for r in await repo.framing_posts(framing, since, until) if not r.watchdog]
    usernames = await repo.usernames()
    pairs = await neardups.pairs_among([r.post_id for r in rows])
    by_framing: dict[str, list[PropagationPost]] = {}
    for row in rows:
        by_framing.setdefault(row.framing_slug, []).append(as_post(row))
    found = {
        slug: prop.clusters(posts, _pairs_of(posts, pairs), usernames)
        for slug, posts in by_framing.items()
    }
    learned = window or prop.learn_window([c for cs in found.values() for c in cs])
    return [
        FramingPropagation(
            slug,
            tuple(posts),
            prop.first_seen(posts),
            tuple(prop.amplifiers(posts, usernames)),
            tuple(prop.with_coordination(found[slug], learned)),
            learned,
            tuple(_pairs_of(posts, pairs)),
        )
        for slug, posts in sorted(by_framing.items())
    ]


def _pairs_of(
    posts: list[PropagationPost], pairs: list[tuple[int, int, float]]
) -> list[tuple[int, int, float]]:
    ids = {p.post_id for p in posts}
    return [pair for pair in pairs if pair[0] in ids and pair[1] in ids]


async def load_for(
    db: Backend, since: datetime, until: datetime, window_minutes: float | None
) -> list[FramingPropagation]:
    """Every framing's propagation in [since, until): what the digest shows."""
    repo, neardups = PropagationRepository(db), NearDupRepository(db)
    return await load(repo, neardups, None, since, until, window_of(window_minutes))
