"""The offline demo: default framings, invented sample posts, one scan, one digest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from bot.context import Services
from bot.delivery import compose
from bot.digest_render import render_plain
from bot.framings import default_pack_path, import_pack
from bot.indexing import run_indexing
from bot.ingest import store_post
from bot.scan import run_scan
from storage.models import IncomingPost


@dataclass(frozen=True, slots=True)
class DemoResult:
    framings: int
    terms: int
    posts: int
    new_matches: int
    flagged_posts: int
    messages: list[str]


def _sample_data() -> dict[str, Any]:
    path = resources.files("bot") / "demo" / "sample_posts.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def sample_watchdogs() -> list[int]:
    """The demo channels marked as watchdogs (a fact-checker quoting framings to debunk them)."""
    return [c["chat_id"] for c in _sample_data()["channels"] if c.get("watchdog")]


def sample_posts(now: datetime) -> list[IncomingPost]:
    """The bundled invented posts, dated relative to `now`."""
    data = _sample_data()
    channels = {c["chat_id"]: c for c in data["channels"]}
    return [
        IncomingPost(
            chat_id=p["chat_id"],
            message_id=p["message_id"],
            posted_at=now - timedelta(hours=float(p["hours_ago"])),
            text=p["text"],
            channel_title=channels[p["chat_id"]]["title"],
            channel_username=channels[p["chat_id"]].get("username"),
            source="demo",
        )
        for p in data["posts"]
    ]


async def run_demo(services: Services, pack: Path | None = None) -> DemoResult:
    now = services.clock()
    imported = await import_pack(services.framings, pack or default_pack_path(), None, now)
    new_framings = sum(f.created for f in imported.framings)
    new_terms = sum(len(f.added) for f in imported.framings)
    posts = sample_posts(now)
    for post in posts:
        await store_post(services.posts, post, now)
    for chat_id in sample_watchdogs():
        await services.channels.set_watchdog(chat_id, True, None, now)
    report = await run_scan(
        services.framings, services.matches, services.clock, rules=services.rules
    )
    await run_indexing(services.db)  # the digest shows where each framing spread
    messages = await compose(services, now - timedelta(hours=24), now)
    flagged = len({m.post_id for m in report.new_matches})
    return DemoResult(
        new_framings, new_terms, len(posts), len(report.new_matches), flagged, messages
    )


def demo_summary(result: DemoResult) -> str:
    return (
        f"Loaded {result.framings} framings with {result.terms} terms and {result.posts} "
        f"invented sample posts; the scan flagged {result.flagged_posts} posts "
        f"({result.new_matches} term matches).\n"
        "Digest of the last 24 hours, as a subscriber would receive it "
        f"({len(result.messages)} message(s)):\n\n" + render_plain(result.messages)
    )
