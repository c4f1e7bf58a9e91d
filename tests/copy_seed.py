"""A SQLite database with rows in every table `framewatch copy-db` copies, written through
the real repositories: tests/serve_seed.py's posts, matches and near-duplicates, plus a
verdict, a digest delivery, an alert, a chart, chosen settings, an inbox update, a follow,
and a post still queued for indexing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from storage.alerts import AlertRepository
from storage.db import open_database
from storage.follows import FollowRepository
from storage.inbox import InboxRepository
from storage.models import InboxUpdate, IncomingPost
from storage.posts import PostRepository
from storage.subscriber_settings import SubscriberSettingsRepository
from storage.subscribers import DeliveryRepository
from storage.verdicts import VerdictRepository
from tests.serve_seed import NOW, SUBSCRIBER, seed_database

MODERATOR = 2


async def seed_every_table(path: Path) -> None:
    await seed_database(path)
    db = await open_database(path)
    try:
        post_id, framing_id = (await db.fetchall("SELECT post_id, framing_id FROM matches"))[0]
        await VerdictRepository(db).decide(post_id, framing_id, "debunk", None, MODERATOR, NOW)
        deliveries = DeliveryRepository(db)
        await deliveries.claim_many([SUBSCRIBER], "2026-11-25", ["<b>Digest</b> «один»"], NOW)
        await deliveries.progress(SUBSCRIBER, "2026-11-25", 1, "sent", NOW)
        alerts = AlertRepository(db)
        await alerts.set_alerts(SUBSCRIBER, True, NOW)
        await alerts.claim("biolabs", "2026-11-25", SUBSCRIBER, "Всплеск", NOW)
        await alerts.claim_chart(SUBSCRIBER, "2026-11-25", NOW)
        prefs = SubscriberSettingsRepository(db)
        await prefs.set_value(SUBSCRIBER, "time", "08:30", MODERATOR, NOW)
        await prefs.set_framings(SUBSCRIBER, [framing_id], MODERATOR, NOW)
        inbox = InboxRepository(db)
        await inbox.save([InboxUpdate(9001, '{"update_id": 9001}'), InboxUpdate(9002, "{}")], NOW)
        await inbox.mark_processed(9001, NOW)
        await FollowRepository(db).add(
            username="chan7", chat_id=-1007, channel_username="chan7", title="Чан 7",
            user_id=MODERATOR, now=NOW, next_poll_at=NOW + timedelta(minutes=5),
            backfill_before=120, backfill_left=40,
        )  # fmt: skip
        queued = IncomingPost(
            chat_id=-1007, message_id=3, posted_at=NOW, text="Ещё не проиндексирован ‘ok’",
            channel_title="Чан 7", channel_username="chan7", views=2**40,
        )  # fmt: skip
        await PostRepository(db).store(queued, NOW)
    finally:
        await db.close()
