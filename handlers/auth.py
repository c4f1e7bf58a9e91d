"""Role checks for commands: refuse, say why, change nothing."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update

from bot.context import Context, services_of
from bot.roles import Role, may, role_of
from handlers.common import reply

log = logging.getLogger(__name__)

Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]

_WHO = {
    Role.ANALYST: "analysts and moderators",
    Role.MODERATOR: "moderators",
    Role.ADMIN: "admins",
}


def requires(needed: Role) -> Callable[[Callback], Callback]:
    def decorate(callback: Callback) -> Callback:
        @functools.wraps(callback)
        async def guarded(update: Update, context: Context) -> None:
            user = update.effective_user
            role = await role_of(services_of(context), user.id if user else None)
            if not may(role, needed):
                log.info("refused %s to user %s (%s)", callback.__name__, user and user.id, role)
                await reply(
                    update,
                    f"Sorry, only {_WHO[needed]} may use this command. Your role: "
                    f"{role.label}. An admin can give you a role with /grant "
                    f"{user.id if user else '&lt;your id&gt;'} moderator.",
                )
                return
            await callback(update, context)

        return guarded

    return decorate
