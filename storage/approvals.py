"""Channel approval: whose channels count (migration 0006).

Anyone can add the bot to a channel of their own. Such a channel is 'pending' until a
moderator approves it; its posts are stored but every counting query reads channels through
the `watched_channels` view, which holds the approved ones only. A moderator may instead
reject it (the bot leaves): its posts stay stored and stay uncounted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage import audit
from storage.backend import Backend, Tx
from storage.models import Approval
from storage.nul import without_nul
from storage.timeutil import iso


@dataclass(frozen=True, slots=True)
class Joined:
    approval: Approval  # the channel's state after the bot joined or left
    new_pending: bool  # this update made it pending: the moderators should hear of it


@dataclass(frozen=True, slots=True)
class Decision:
    approval: Approval
    changed: bool  # False: it already was so
    decided_by: int | None  # who decided it (earlier, when nothing changed)


async def after_membership(
    conn: Tx,
    chat_id: int,
    before: Approval | None,
    is_member: bool,
    added_by: int | None,
    approve: bool,
    now: datetime,
) -> Joined:
    """The approval a channel gets when the bot joins or leaves it (inside that change's
    transaction). before: its state until now, None for a channel new to the bot.

    approve=False (added by someone who is not a moderator): a new channel is pending and
    a known one keeps its state. approve=True (a moderator or admin added the bot): it is
    approved. Leaving never changes the state.
    """
    if before is None and not approve:
        await _set(conn, chat_id, "pending", None, None)
        return Joined("pending", True)
    if before is None or before == "approved":
        return Joined("approved", False)
    if not (approve and is_member):
        return Joined(before, False)
    await _set(conn, chat_id, "approved", added_by, now)
    await audit.record(conn, added_by, "channel-approve", str(chat_id), now)
    return Joined("approved", False)


class ApprovalRepository:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def ensure_known(
        self, chat_id: int, username: str | None, title: str, now: datetime
    ) -> bool:
        """Register a channel first seen through one of its posts as pending (the
        my_chat_member update saying who added the bot never came); True if it was new."""
        async with self._db.atomic() as conn:
            inserted = await conn.execute(
                "INSERT INTO channels (chat_id, username, title, is_member, added_at,"
                " updated_at, approval) VALUES (?, ?, ?, 1, ?, ?, 'pending')"
                " ON CONFLICT (chat_id) DO NOTHING",
                (
                    chat_id,
                    without_nul(username) or None,
                    without_nul(title) or "",
                    iso(now),
                    iso(now),
                ),
            )
            return inserted == 1

    async def decide(
        self, chat_id: int, approval: Approval, user_id: int | None, now: datetime
    ) -> Decision | None:
        """A moderator approves or rejects a channel; None if the channel is unknown.
        Deciding what already is so changes nothing and says who decided it."""
        async with self._db.atomic() as conn:
            row = await conn.fetchone(
                "SELECT approval, decided_by FROM channels WHERE chat_id = ?", (chat_id,)
            )
            if row is None:
                return None
            if row[0] == approval:
                return Decision(approval, False, row[1])
            await _set(conn, chat_id, approval, user_id, now)
            action = "channel-approve" if approval == "approved" else "channel-reject"
            await audit.record(conn, user_id, action, str(chat_id), now)
        return Decision(approval, True, user_id)

    async def count_pending(self) -> int:
        return int(
            await self._db.fetchval("SELECT count(*) FROM channels WHERE approval = 'pending'")
        )


async def _set(
    conn: Tx,
    chat_id: int,
    approval: Approval,
    user_id: int | None,
    now: datetime | None,
) -> None:
    await conn.execute(
        "UPDATE channels SET approval = ?, decided_by = ?, decided_at = ? WHERE chat_id = ?",
        (approval, user_id, iso(now) if now else None, chat_id),
    )
