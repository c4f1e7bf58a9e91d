"""Admin commands: /grant, /revoke, /roles, /inbox."""

from __future__ import annotations

from html import escape

from telegram import Update

from bot.context import Context, services_of
from bot.quarantine import SelectionError, line, parse_selection
from bot.roles import GRANTABLE, Role
from handlers.common import command_args, reply, reply_chunks
from handlers.registry import Command
from storage.numbers import ascii_int

GRANT_USAGE = (
    "Usage: /grant &lt;user_id&gt; moderator|analyst\n"
    "e.g. <code>/grant 123456789 analyst</code>. The user finds their id with /start."
)
REVOKE_USAGE = (
    "Usage: /revoke &lt;user_id&gt;, e.g. <code>/revoke 123456789</code>. /roles lists roles."
)


def _user_id(text: str) -> int | None:
    number = ascii_int(text)  # not isdigit(): "²²²" passes it and int() then raises
    return number if number is not None and 0 < number < 2**53 else None


async def grant(update: Update, context: Context) -> None:
    services = services_of(context)
    args = command_args(update, 2)
    if len(args) != 2 or _user_id(args[0]) is None or args[1].strip().lower() not in GRANTABLE:
        await reply(update, GRANT_USAGE)
        return
    user_id, role = int(args[0]), args[1].strip().lower()
    if user_id in services.settings.admin_ids:
        await reply(
            update,
            f"{user_id} is an admin (FRAMEWATCH_ADMIN_IDS); admins already "
            "have every role. Nothing changed.",
        )
        return
    actor = update.effective_user.id if update.effective_user else 0
    before = await services.roles.grant(user_id, role, actor, services.clock())
    if before == role:
        await reply(update, f"{user_id} is already {role}; nothing changed.")
        return
    was = f" (was {before})" if before and before != role else ""
    await reply(update, f"{user_id} is now {role}{was}.")


async def revoke(update: Update, context: Context) -> None:
    services = services_of(context)
    args = command_args(update, 2)
    if len(args) != 1 or _user_id(args[0]) is None:
        await reply(update, REVOKE_USAGE)
        return
    user_id = int(args[0])
    if user_id in services.settings.admin_ids:
        await reply(
            update,
            f"{user_id} is an admin through FRAMEWATCH_ADMIN_IDS; remove the id "
            "there and restart to revoke it. Nothing changed.",
        )
        return
    actor = update.effective_user.id if update.effective_user else 0
    removed = await services.roles.revoke(user_id, actor, services.clock())
    if removed is None:
        await reply(update, f"{user_id} has no role; nothing changed. /roles lists roles.")
    else:
        await reply(update, f"{user_id} is no longer {removed}.")


async def list_roles(update: Update, context: Context) -> None:
    services = services_of(context)
    lines = ["<b>Roles</b>"]
    lines += [f"admin: {uid} (settings)" for uid in sorted(services.settings.admin_ids)]
    lines += [
        f"{g.role}: {g.user_id} (granted by {g.granted_by} on {g.granted_at:%Y-%m-%d})"
        for g in await services.roles.all()
    ]
    if len(lines) == 1:
        lines.append("No roles yet.")
    await reply_chunks(update, lines)


INBOX_SHOWN = 10
INBOX_USAGE = (
    "Retry: <code>/inbox retry ID</code> (or <code>all</code>), drop: "
    "<code>/inbox drop ID</code> (or <code>all</code>); raw JSON: "
    "<code>framewatch inbox show ID</code>."
)


async def inbox(update: Update, context: Context) -> None:
    """Updates set aside after failing repeatedly: counts and the newest, or retry/drop."""
    services = services_of(context)
    args = command_args(update, 2)
    if args and args[0].lower() in ("retry", "drop"):
        await _resolve_inbox(update, context, args[0].lower(), args[1:])
        return
    if args:
        await reply(update, "Usage: /inbox, or /inbox retry|drop ID|all. " + INBOX_USAGE)
        return
    counts = await services.inbox.counts()
    waiting = max(counts.pending - 1, 0)  # this /inbox is itself pending until it returns
    lines = [f"<b>Inbox</b>: {waiting} waiting, {counts.quarantined} quarantined."]
    newest = await services.inbox.quarantined(limit=INBOX_SHOWN)
    lines += [escape(line(q, services.settings.zone), quote=False) for q in newest]
    if newest:
        lines.append(INBOX_USAGE)
    await reply(update, "\n".join(lines))


async def _resolve_inbox(update: Update, context: Context, verb: str, rest: list[str]) -> None:
    services = services_of(context)
    try:
        ids = parse_selection(rest[0].split() if rest else [])
    except SelectionError as exc:
        await reply(update, f"{escape(str(exc), quote=False)}. Nothing changed.")
        return
    actor = update.effective_user.id if update.effective_user else None
    act = services.inbox.retry if verb == "retry" else services.inbox.drop
    done = await act(ids, actor, services.clock())
    if not done:
        await reply(update, "No such quarantined update; nothing changed. /inbox lists them.")
        return
    await reply(update, f"{done} update(s) {'queued again' if verb == 'retry' else 'dropped'}.")


COMMANDS = [
    Command(
        ("grant",), grant, Role.ADMIN, "/grant &lt;user_id&gt; moderator|analyst", "give a role"
    ),
    Command(("revoke",), revoke, Role.ADMIN, "/revoke &lt;user_id&gt;", "take a role away"),
    Command(("roles",), list_roles, Role.ADMIN, "/roles", "who has which role"),
    Command(
        ("inbox",),
        inbox,
        Role.ADMIN,
        "/inbox [retry|drop &lt;id&gt;|all]",
        "updates set aside after failing repeatedly",
    ),
]
