"""/audit [n]: the newest entries of the audit log (who changed what, when), for admins."""

from __future__ import annotations

from telegram import Update

from bot.audit_text import DEFAULT_SHOWN, MAX_SHOWN, audit_head
from bot.context import Context, services_of
from bot.roles import Role
from bot.telegram_text import Line, Text
from handlers.common import command_args, reply, reply_chunks
from handlers.registry import Command
from storage import audit
from storage.numbers import ascii_int

AUDIT_USAGE = (
    f"Usage: /audit [n] — the newest n changes (default {DEFAULT_SHOWN}, at most {MAX_SHOWN}), "
    "e.g. <code>/audit 50</code>."
)


async def show_audit(update: Update, context: Context) -> None:
    args = command_args(update, 2)
    count = ascii_int(args[0]) if len(args) == 1 else None if args else DEFAULT_SHOWN
    if count is None or not 1 <= count <= MAX_SHOWN:
        await reply(update, AUDIT_USAGE)
        return
    services = services_of(context)
    entries = await audit.recent(services.db, count)
    if not entries:
        await reply(update, "The audit log is empty: nobody has changed anything yet.")
        return
    zone = services.settings.zone
    lines: list[Line] = [[f"<b>Audit log</b>, newest first ({len(entries)}):"]]
    lines += [[Text(audit_head(e, zone)), " · ", Text(e.detail)] for e in entries]
    await reply_chunks(update, lines)


COMMANDS = [
    Command(("audit",), show_audit, Role.ADMIN, "/audit [n]", "who changed what, when"),
]
