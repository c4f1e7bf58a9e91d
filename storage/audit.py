"""Audit log: who changed what, when. Written inside the change's own transaction."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.backend import Backend, Tx
from storage.models import AuditEntry
from storage.timeutil import from_iso, iso

_INSERT = "INSERT INTO audit_log (at, user_id, action, detail) VALUES (?, ?, ?, ?)"


async def record(
    conn: Tx | aiosqlite.Connection,
    user_id: int | None,
    action: str,
    detail: str,
    now: datetime,
) -> None:
    """conn: the change's transaction (storage.backend.Tx), or the aiosqlite connection of a
    repository not yet ported to the backend interface (SQLite only)."""
    await conn.execute(_INSERT, (iso(now), user_id, action, detail))


async def recent(db: Backend, limit: int = 50) -> list[AuditEntry]:
    """The newest `limit` entries, newest first (read by /audit and `framewatch audit`)."""
    rows = await db.fetchall(
        "SELECT at, user_id, action, detail FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
    )
    return [AuditEntry(from_iso(r["at"]), r["user_id"], r["action"], r["detail"]) for r in rows]
