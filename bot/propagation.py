"""How a framing spread (pure): first seen, amplifiers, copy-paste clusters, coordinated pushes.

Input: the posts matching one framing in a period (storage/propagation.py) and the verified
near-duplicate pairs among them (the index, bot/neardup_index.py). A forward is exact
amplification of the channel it came from, whether or not its original was stored.

Coordination follows CooRnet (Giglietto et al.): the window is learned from the data as a
quantile (COORD_QUANTILE) of how fast clusters reached half their posts, kept between a
floor and a cap; a cluster is a coordinated push when at least COORD_CHANNELS distinct
channels posted in it within one window.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.links import post_link

COORD_CHANNELS = 3
COORD_QUANTILE = 0.1  # CooRnet's q: the fastest tenth of the clusters
COORD_SHARE = 0.5  # CooRnet's p: the time a cluster took to reach half its posts
WINDOW_FLOOR = timedelta(minutes=1)
WINDOW_CAP = timedelta(hours=1)
WINDOW_DEFAULT = timedelta(minutes=10)  # fewer than MIN_CLUSTERS_TO_LEARN clusters
MIN_CLUSTERS_TO_LEARN = 10

_LINK = re.compile(r"https?://t\.me/(?:c/(\d+)|([A-Za-z][A-Za-z0-9_]{3,31}))/(\d+)")


@dataclass(frozen=True, slots=True)
class PropagationPost:
    post_id: int
    chat_id: int
    channel_username: str | None
    channel_title: str
    message_id: int
    posted_at: datetime
    forwarded_chat_id: int | None = None  # origin channel, when the source named its id
    forwarded_message_id: int | None = None
    forwarded_link: str | None = None  # t.me link of the origin (web previews, Bot API)

    @property
    def link(self) -> str:
        return post_link(self.chat_id, self.channel_username, self.message_id)

    @property
    def channel(self) -> str:
        return f"@{self.channel_username}" if self.channel_username else self.channel_title


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a forward came from: a channel (id or username) and maybe its message."""

    channel: str  # a node key: "id:-100..." or "@username"
    message_id: int | None


@dataclass(frozen=True, slots=True)
class Amplifier:
    channel_key: str
    channel: str
    posts: int
    lag: timedelta  # its first post after the first seen
    forwards: int  # of which forwards of the origin channel


@dataclass(frozen=True, slots=True)
class Cluster:
    posts: tuple[PropagationPost, ...]  # by time
    near_duplicate: bool
    forwarded: bool
    push: tuple[PropagationPost, ...] = ()  # the first post of each channel within a window

    @property
    def coordinated(self) -> bool:
        return bool(self.push)

    @property
    def first(self) -> PropagationPost:
        return self.posts[0]

    @property
    def channels(self) -> int:
        return len({p.chat_id for p in self.posts})

    @property
    def span(self) -> timedelta:
        return self.posts[-1].posted_at - self.posts[0].posted_at


def channel_key(chat_id: int | None, username: str | None) -> str:
    return f"id:{chat_id}" if chat_id is not None else f"@{(username or '').lower()}"


def key_of(post: PropagationPost) -> str:
    return channel_key(post.chat_id, None)


def origin_of(post: PropagationPost, usernames: dict[str, int]) -> Origin | None:
    """The forward origin: the stored id, else the link (t.me/name/ID or t.me/c/ID/MSG);
    a username a stored channel carries maps to its id (usernames: lower-case -> id)."""
    if post.forwarded_chat_id is not None:
        return Origin(channel_key(post.forwarded_chat_id, None), post.forwarded_message_id)
    found = _LINK.fullmatch(post.forwarded_link or "")
    if found is None:
        return None
    internal, username, message = found.groups()
    if internal is not None:
        return Origin(channel_key(-1_000_000_000_000 - int(internal), None), int(message))
    chat_id = usernames.get(username.lower())
    return Origin(channel_key(chat_id, username), int(message))


def first_seen(posts: Sequence[PropagationPost]) -> PropagationPost | None:
    return min(posts, key=lambda p: (p.posted_at, p.post_id), default=None)


def amplifiers(posts: Sequence[PropagationPost], usernames: dict[str, int]) -> list[Amplifier]:
    """Channels that carried the framing after its first post, earliest first."""
    first = first_seen(posts)
    if first is None:
        return []
    seen: dict[str, list[PropagationPost]] = {}
    for post in sorted(posts, key=lambda p: p.posted_at):
        if key_of(post) != key_of(first) and post.posted_at >= first.posted_at:
            seen.setdefault(key_of(post), []).append(post)
    result = []
    for key, carried in seen.items():
        forwards = sum(1 for p in carried if origin_of(p, usernames) is not None)
        lag = carried[0].posted_at - first.posted_at
        result.append(Amplifier(key, carried[0].channel, len(carried), lag, forwards))
    return sorted(result, key=lambda a: (a.lag, -a.posts))


class _Union:
    def __init__(self) -> None:
        self.parent: dict[object, object] = {}

    def find(self, item: object) -> object:
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def join(self, a: object, b: object) -> None:
        self.parent[self.find(a)] = self.find(b)


def clusters(
    posts: Sequence[PropagationPost],
    pairs: Sequence[tuple[int, int, float]],
    usernames: dict[str, int],
) -> list[Cluster]:
    """Groups of 2+ posts joined by near-duplicate pairs or by forwards of one original."""
    union = _Union()
    by_message = {(key_of(p), p.message_id): p.post_id for p in posts}
    forwarded: set[int] = set()
    for post in posts:
        union.find(post.post_id)
        origin = origin_of(post, usernames)
        if origin is None:
            continue
        forwarded.add(post.post_id)
        if origin.message_id is None:
            continue  # an export names the channel only: which post is unknown
        original = by_message.get((origin.channel, origin.message_id))
        union.join(post.post_id, original if original is not None else origin)
    duplicated: set[int] = set()
    for a, b, _ in pairs:
        union.join(a, b)
        duplicated |= {a, b}
    groups: dict[object, list[PropagationPost]] = {}
    for post in posts:
        groups.setdefault(union.find(post.post_id), []).append(post)
    found = [
        Cluster(
            tuple(sorted(group, key=lambda p: (p.posted_at, p.post_id))),
            near_duplicate=any(p.post_id in duplicated for p in group),
            forwarded=any(p.post_id in forwarded for p in group),
        )
        for group in groups.values()
        if len(group) >= 2
    ]
    return sorted(found, key=lambda c: (c.first.posted_at, c.first.post_id))


def learn_window(found: Sequence[Cluster]) -> timedelta:
    """CooRnet's interval: the COORD_QUANTILE quantile of the time clusters took to reach
    COORD_SHARE of their posts, between WINDOW_FLOOR and WINDOW_CAP."""
    times = sorted(_time_to_share(c) for c in found if len(c.posts) >= 2)
    if len(times) < MIN_CLUSTERS_TO_LEARN:
        return WINDOW_DEFAULT
    position = (len(times) - 1) * COORD_QUANTILE
    low, high = times[math.floor(position)], times[math.ceil(position)]
    value = low + (high - low) * (position - math.floor(position))
    return max(WINDOW_FLOOR, min(WINDOW_CAP, value))


def _time_to_share(cluster: Cluster) -> timedelta:
    index = max(1, math.ceil(len(cluster.posts) * COORD_SHARE) - 1)
    return cluster.posts[index].posted_at - cluster.first.posted_at


def coordinated(cluster: Cluster, window: timedelta) -> tuple[PropagationPost, ...]:
    """The posts of the largest set of distinct channels within one window, if it has at
    least COORD_CHANNELS channels; empty otherwise. Only near-duplicates count: forwards
    are amplification, not a copy-paste push."""
    if not cluster.near_duplicate:
        return ()
    posts = cluster.posts
    inside: Counter[int] = Counter()
    best, best_start, end = 0, 0, 0
    for start, first in enumerate(posts):  # two pointers: every window starting at a post
        while end < len(posts) and posts[end].posted_at - first.posted_at <= window:
            inside[posts[end].chat_id] += 1
            end += 1
        if len(inside) > best:
            best, best_start = len(inside), start
        inside[first.chat_id] -= 1
        if not inside[first.chat_id]:
            del inside[first.chat_id]
    if best < COORD_CHANNELS:
        return ()
    limit = posts[best_start].posted_at + window
    firsts: dict[int, PropagationPost] = {}
    for post in posts[best_start:]:
        if post.posted_at > limit:
            break
        firsts.setdefault(post.chat_id, post)
    return tuple(firsts.values())


def with_coordination(found: Sequence[Cluster], window: timedelta) -> list[Cluster]:
    return [Cluster(c.posts, c.near_duplicate, c.forwarded, coordinated(c, window)) for c in found]
