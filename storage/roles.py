"""Roles granted by admins: moderator or analyst. Admins themselves come from settings."""

from __future__ import annotations

from datetime import datetime

from storage import audit
from storage.backend import Backend
from storage.models import RoleGrant
from storage.timeutil import from_iso, iso


class RoleRepository:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def role_of(self, user_id: int) -> str | None:
        value = await self._db.fetchval("SELECT role FROM roles WHERE user_id = ?", (user_id,))
        return None if value is None else str(value)

    async def grant(self, user_id: int, role: str, actor: int, now: datetime) -> str | None:
        """Give a role; returns the role the user had before, if any."""
        async with self._db.atomic() as conn:
            row = await conn.fetchone("SELECT role FROM roles WHERE user_id = ?", (user_id,))
            if row is not None and row[0] == role:
                return role  # nothing to change, nothing to audit
            await conn.execute(
                "INSERT INTO roles (user_id, role, granted_by, granted_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET role = excluded.role,"
                " granted_by = excluded.granted_by, granted_at = excluded.granted_at",
                (user_id, role, actor, iso(now)),
            )
            await audit.record(conn, actor, "grant", f"{user_id}: {role}", now)
        return None if row is None else str(row[0])

    async def revoke(self, user_id: int, actor: int, now: datetime) -> str | None:
        """Take a user's role away; returns the role removed, or None if there was none."""
        async with self._db.atomic() as conn:
            row = await conn.fetchone("SELECT role FROM roles WHERE user_id = ?", (user_id,))
            if row is None:
                return None
            await conn.execute("DELETE FROM roles WHERE user_id = ?", (user_id,))
            await audit.record(conn, actor, "revoke", f"{user_id}: {row[0]}", now)
        return str(row[0])

    async def all(self) -> list[RoleGrant]:
        rows = await self._db.fetchall(
            "SELECT user_id, role, granted_by, granted_at FROM roles ORDER BY role, user_id"
        )
        return [RoleGrant(r[0], r[1], r[2], from_iso(r[3])) for r in rows]
