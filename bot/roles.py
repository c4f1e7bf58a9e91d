"""Who may do what. Admins come from settings; moderators and analysts are granted."""

from __future__ import annotations

from enum import IntEnum

from bot.context import Services


class Role(IntEnum):
    """Ordered: each role may do everything the roles below it may."""

    EVERYONE = 0
    ANALYST = 1
    MODERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


GRANTABLE = {"moderator": Role.MODERATOR, "analyst": Role.ANALYST}


async def role_of(services: Services, user_id: int | None) -> Role:
    if user_id is None:
        return Role.EVERYONE
    if user_id in services.settings.admin_ids:
        return Role.ADMIN
    granted = await services.roles.role_of(user_id)
    return GRANTABLE.get(granted or "", Role.EVERYONE)


def may(role: Role, needed: Role) -> bool:
    return role >= needed
