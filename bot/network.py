"""The propagation network (networkx): who carried whose posts, as GEXF or GraphML for Gephi.

Nodes are channels (title, username, watchdog, matched posts); an edge A -> B when B
forwarded A's post, or posted a near-copy of A's post after A. Edge attributes: weight
(how many posts), first and last time (ISO 8601 UTC) and one example link (B's post).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import networkx as nx

from bot import propagation as prop
from bot.propagation import PropagationPost
from bot.propagation_report import FramingPropagation

ChannelInfo = dict[int, tuple[str | None, str, bool]]  # chat id -> username, title, watchdog


@dataclass(slots=True)
class _Edge:
    weight: int = 0
    first: str = ""
    last: str = ""
    example: str = ""
    kinds: set[str] = field(default_factory=set)


def build(
    found: Sequence[FramingPropagation], channels: ChannelInfo, usernames: dict[str, int]
) -> nx.DiGraph:
    graph = nx.DiGraph()
    edges: dict[tuple[str, str], _Edge] = {}
    seen: set[object] = set()  # a post (or pair) matching several framings counts once
    for framing in found:
        by_id = {p.post_id: p for p in framing.posts}
        for post in framing.posts:
            if post.post_id in seen:
                continue
            seen.add(post.post_id)
            _node(graph, prop.key_of(post), post.chat_id, channels, post)
            origin = prop.origin_of(post, usernames)
            if origin is not None and origin.channel != prop.key_of(post):
                _node(graph, origin.channel, _chat_id(origin.channel), channels, None)
                _count(edges, origin.channel, post, "forward")
        for a, b, _ in framing.pairs:
            if (a, b) in seen:
                continue
            seen.add((a, b))
            early, late = sorted((by_id[a], by_id[b]), key=lambda p: (p.posted_at, p.post_id))
            if early.chat_id != late.chat_id:
                _count(edges, prop.key_of(early), late, "near-copy")
    for (source, target), edge in edges.items():
        graph.add_edge(
            source,
            target,
            weight=edge.weight,
            first=edge.first,
            last=edge.last,
            example=edge.example,
            kind="+".join(sorted(edge.kinds)),
        )
    return graph


def _chat_id(key: str) -> int | None:
    return int(key[3:]) if key.startswith("id:") else None


def _node(
    graph: nx.DiGraph,
    key: str,
    chat_id: int | None,
    channels: ChannelInfo,
    post: PropagationPost | None,
) -> None:
    if key not in graph:
        username, title, watchdog = channels.get(chat_id or 0, (None, "", False))
        username = username or (key[1:] if key.startswith("@") else "")
        graph.add_node(
            key, label=title or username or key, title=title, username=username or "",
            watchdog=watchdog, matched_posts=0,
        )  # fmt: skip
    if post is not None:
        graph.nodes[key]["matched_posts"] += 1


def _count(
    edges: dict[tuple[str, str], _Edge], source: str, post: PropagationPost, kind: str
) -> None:
    edge = edges.setdefault((source, prop.key_of(post)), _Edge())
    moment = post.posted_at.isoformat()
    edge.weight += 1
    edge.first = min(edge.first or moment, moment)
    edge.last = max(edge.last, moment)
    edge.example = edge.example or post.link
    edge.kinds.add(kind)


def write(graph: nx.DiGraph, kind: str, path: str | Path | BinaryIO) -> None:
    if kind == "gexf":
        nx.write_gexf(graph, path)
    else:
        nx.write_graphml(graph, path)
