"""/start and /help: what FrameWatch does, who you are, and the commands you may use."""

from __future__ import annotations

from collections.abc import Callable

from telegram import Update

from bot.context import Context, services_of
from bot.roles import Role, role_of
from bot.telegram_text import escape
from handlers.common import reply_chunks
from handlers.registry import Command

INTRO = (
    "<b>FrameWatch</b> watches Telegram channels for recurring propaganda framings "
    "(for example a retreat called a “gesture of goodwill”), stores every post, and sends "
    "a daily digest of the framings found, with links to the source posts."
)


def help_text(commands: list[Command], user_id: int | None, role: Role, when: str) -> str:
    lines = [INTRO, "", f"Your Telegram id: <code>{user_id}</code> · role: <b>{role.label}</b>"]
    for level in Role:
        mine = [c for c in commands if c.role is level]
        if level <= role and mine:
            lines += ["", f"<b>{level.label.capitalize()} commands</b>"]
            lines += [f"{c.usage} — {c.summary}" for c in mine]
    lines += ["", f"The daily digest goes out at {when}; /settings sets this chat's own."]
    return "\n".join(lines)


def help_command(commands: Callable[[], list[Command]]) -> Command:
    """/start and /help, listing `commands()` (the registry in handlers/__init__.py)."""

    async def start(update: Update, context: Context) -> None:
        services = services_of(context)
        user = update.effective_user
        role = await role_of(services, user.id if user else None)
        settings = services.settings
        when = f"{settings.digest_time:%H:%M} ({escape(settings.timezone)})"
        text = help_text(commands(), user.id if user else None, role, when)
        await reply_chunks(update, text.split("\n"))  # each line is balanced: split between them

    return Command(
        ("start", "help"), start, Role.EVERYONE, "/help", "what FrameWatch does and your commands"
    )
