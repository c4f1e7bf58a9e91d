"""Every row of the commands table, through the real PTB application and the fake server."""

from __future__ import annotations

from tests.conftest import ADMIN, ANALYST, MODERATOR, STRANGER, Harness
from tests.fake_telegram import channel_post


async def _count(h: Harness, table: str) -> int:
    return int(await h.db.fetchval(f"SELECT count(*) FROM {table}"))


async def test_start_and_help_show_id_role_and_the_commands_of_that_role(harness: Harness) -> None:
    await harness.grant_roles()
    stranger = (await harness.command(STRANGER, "/start"))[0]
    assert f"<code>{STRANGER}</code>" in stranger
    assert "role: <b>everyone</b>" in stranger
    assert "/subscribe" in stranger and "/digest" in stranger
    assert "/watch" not in stranger and "/search" not in stranger and "/grant" not in stranger

    analyst = (await harness.command(ANALYST, "/help"))[0]
    assert "role: <b>analyst</b>" in analyst and "/search" in analyst and "/watch" not in analyst

    moderator = (await harness.command(MODERATOR, "/help"))[0]
    assert "/watch" in moderator and "/search" in moderator and "/grant" not in moderator

    admin = (await harness.command(ADMIN, "/help"))[0]
    assert "role: <b>admin</b>" in admin and "/grant" in admin and "/roles" in admin
    assert "09:00 (Europe/Kyiv)" in admin


async def test_subscribe_and_unsubscribe_are_idempotent(harness: Harness) -> None:
    assert "Subscribed" in (await harness.command(STRANGER, "/subscribe"))[0]
    assert "already subscribed" in (await harness.command(STRANGER, "/subscribe"))[0]
    assert await harness.services.subscribers.is_active(STRANGER)
    assert "Unsubscribed" in (await harness.command(STRANGER, "/unsubscribe"))[0]
    assert "was not subscribed" in (await harness.command(STRANGER, "/unsubscribe"))[0]
    assert not await harness.services.subscribers.is_active(STRANGER)


async def test_watch_creates_framing_adds_terms_and_refuses_duplicates(harness: Harness) -> None:
    await harness.grant_roles()
    reply = (await harness.command(MODERATOR, "/watch goodwill-gesture жест доброй воли"))[0]
    assert "New framing <b>goodwill-gesture</b>" in reply and "жест доброй воли" in reply
    reply = (await harness.command(MODERATOR, "/watch goodwill-gesture gesture of goodwill"))[0]
    assert reply.startswith("Framing <b>goodwill-gesture</b>")
    # The same words, differently cased and spaced, are the same term.
    reply = (await harness.command(MODERATOR, "/watch goodwill-gesture ЖЕСТ   доброй воли"))[0]
    assert "already has the term" in reply
    framings = await harness.services.framings.list_with_stats()
    assert [(f.slug, f.terms) for f in framings] == [
        ("goodwill-gesture", ("жест доброй воли", "gesture of goodwill"))
    ]
    # The admin is a moderator too.
    assert "added" in (await harness.command(ADMIN, "/watch feint tactical feint"))[0]


async def test_watch_bad_input_gets_usage_and_changes_nothing(harness: Harness) -> None:
    await harness.grant_roles()
    cases = {
        "/watch": "Usage: /watch",
        "/watch goodwill-gesture": "Usage: /watch",
        "/watch Goodwill_Gesture жест": "not a valid framing name",
        "/watch " + "a" * 65 + " жест": "not a valid framing name",
        "/watch goodwill-gesture " + "слово " * 40: "200",
        "/watch goodwill-gesture --- !!!": "Usage: /watch",
    }
    for text, expected in cases.items():
        replies = await harness.command(MODERATOR, text)
        assert len(replies) == 1 and expected in replies[0], (text, replies)
    assert await _count(harness, "framings") == 0
    assert await _count(harness, "terms") == 0
    assert await _count(harness, "audit_log") == 2  # only the two grants


async def test_moderator_commands_are_refused_to_others_and_change_nothing(
    harness: Harness,
) -> None:
    await harness.grant_roles()
    for user in (STRANGER, ANALYST):
        for text in ("/watch feint feint", "/unwatch feint", "/framings", "/channels"):
            replies = await harness.command(user, text)
            assert len(replies) == 1 and "only moderators may use this command" in replies[0]
    for text in ("/grant 5 moderator", "/revoke 2", "/roles"):
        replies = await harness.command(MODERATOR, text)
        assert "only admins may use this command" in replies[0]
    assert await _count(harness, "framings") == 0
    assert await harness.services.roles.role_of(MODERATOR) == "moderator"


async def test_unwatch_removes_a_term_or_the_whole_framing(harness: Harness) -> None:
    await harness.grant_roles()
    await harness.command(MODERATOR, "/watch feint обманный манёвр")
    await harness.command(MODERATOR, "/watch feint tactical feint")
    assert "Usage: /unwatch" in (await harness.command(MODERATOR, "/unwatch"))[0]
    assert "no framing called nope" in (await harness.command(MODERATOR, "/unwatch nope"))[0]
    assert "has no term" in (await harness.command(MODERATOR, "/unwatch feint nothing"))[0]
    reply = (await harness.command(MODERATOR, "/unwatch feint Обманный маневр"))[0]
    assert "Removed “обманный манёвр”" in reply
    assert (await harness.services.framings.list_with_stats())[0].terms == ("tactical feint",)
    assert "with its 1 terms" in (await harness.command(MODERATOR, "/unwatch feint"))[0]
    assert await _count(harness, "framings") == 0


async def test_framings_and_channels_list_counts(harness: Harness) -> None:
    await harness.grant_roles()
    assert "No framings yet" in (await harness.command(MODERATOR, "/framings"))[0]
    assert "No channels yet" in (await harness.command(MODERATOR, "/channels"))[0]
    await harness.command(MODERATOR, "/watch feint tactical feint")
    await harness.push(channel_post(-1001, 1, "It was a tactical feint.", username="echo"))
    await harness.push(channel_post(-1001, 2, "Weather is fine.", username="echo"))
    from bot.scan import run_scan

    await run_scan(harness.services.framings, harness.services.matches, harness.clock)
    framings = (await harness.command(MODERATOR, "/framings"))[0]
    assert "<b>feint</b>" in framings and "1 posts matched" in framings
    assert "tactical feint" in framings
    channels = (await harness.command(MODERATOR, "/channels"))[0]
    assert "@echo" in channels and "2 posts" in channels and "2023-11-15" in channels


async def test_grant_revoke_roles_with_audit(harness: Harness) -> None:
    assert "Usage: /grant" in (await harness.command(ADMIN, "/grant"))[0]
    assert "Usage: /grant" in (await harness.command(ADMIN, "/grant abc moderator"))[0]
    assert "Usage: /grant" in (await harness.command(ADMIN, "/grant 5 superuser"))[0]
    assert "is an admin" in (await harness.command(ADMIN, f"/grant {ADMIN} analyst"))[0]
    assert "5 is now analyst" in (await harness.command(ADMIN, "/grant 5 analyst"))[0]
    assert "(was analyst)" in (await harness.command(ADMIN, "/grant 5 moderator"))[0]
    roles = (await harness.command(ADMIN, "/roles"))[0]
    assert f"admin: {ADMIN}" in roles and "moderator: 5" in roles
    assert "Usage: /revoke" in (await harness.command(ADMIN, "/revoke x"))[0]
    assert "no longer moderator" in (await harness.command(ADMIN, "/revoke 5"))[0]
    assert "has no role" in (await harness.command(ADMIN, "/revoke 5"))[0]
    rows = await harness.db.fetchall("SELECT user_id, action, detail FROM audit_log ORDER BY id")
    assert [tuple(r) for r in rows] == [
        (ADMIN, "grant", "5: analyst"),
        (ADMIN, "grant", "5: moderator"),
        (ADMIN, "revoke", "5: moderator"),
    ]


async def test_moderator_changes_are_audited(harness: Harness) -> None:
    await harness.grant_roles()
    await harness.command(MODERATOR, "/watch feint tactical feint")
    await harness.command(MODERATOR, "/unwatch feint tactical feint")
    await harness.command(MODERATOR, "/unwatch feint")
    rows = await harness.db.fetchall(
        "SELECT user_id, action, detail FROM audit_log WHERE user_id = ? ORDER BY id", (MODERATOR,)
    )
    assert [tuple(r) for r in rows] == [
        (MODERATOR, "watch", "feint: tactical feint"),
        (MODERATOR, "unwatch", "feint: tactical feint"),
        (MODERATOR, "unwatch", "feint (whole framing, 0 terms)"),
    ]


async def test_search_ranks_snippets_and_explains_bad_queries(harness: Harness) -> None:
    await harness.grant_roles()
    await harness.push(channel_post(-1001, 7, "Это был жест доброй воли & <мир>.", username="echo"))
    await harness.push(channel_post(-1002, 8, "Погода: дождь. Жест.", title="Private one"))
    reply = (await harness.command(ANALYST, "/search доброй воли"))[0]
    assert "Best 1 posts" in reply
    assert "<b>доброй</b> <b>воли</b> &amp; &lt;мир&gt;" in reply
    assert "https://t.me/echo/7" in reply and "@echo" in reply
    reply = (await harness.command(MODERATOR, "/search жест"))[0]
    assert "Best 2 posts" in reply and "https://t.me/c/2/8" not in reply  # -1002 is no -100... id
    assert "https://t.me/c/1002/8" in reply
    bad = (await harness.command(ANALYST, '/search "unclosed AND'))[0]
    assert "could not read the search" in bad and "How to write a search" in bad
    assert "No stored post matches" in (await harness.command(ANALYST, "/search nothing"))[0]
    assert "Usage: /search" in (await harness.command(ANALYST, "/search"))[0]
    assert "only analysts and moderators" in (await harness.command(STRANGER, "/search x"))[0]


async def test_unknown_commands_and_plain_text_get_a_hint(harness: Harness) -> None:
    assert "do not know that command" in (await harness.command(STRANGER, "/frobnicate"))[0]
    assert "/help" in (await harness.command(STRANGER, "hello there"))[0]
    long_text = "x" * 4096
    assert "/help" in (await harness.command(STRANGER, long_text))[0]


async def test_framings_shows_the_first_terms_and_all_of_one_framing(harness: Harness) -> None:
    await harness.grant_roles()
    for n in range(25):
        await harness.command(MODERATOR, f"/watch feint term number {n}")
    overview = (await harness.command(MODERATOR, "/framings"))[0]
    assert "terms (25)" in overview and "term number 19" in overview
    assert "term number 20" not in overview and "…and 5 more (/framings feint)" in overview
    await harness.command(MODERATOR, "/unwatch feint term number 3")
    detail = "\n".join(await harness.command(MODERATOR, "/framings feint"))
    assert all(f"• term number {n}" in detail for n in range(25) if n != 3)
    # The latest rule changes, newest first: the removal, then the last additions.
    history = detail.split("Latest changes, newest first (at most 10):\n")[1].splitlines()
    assert len(history) == 10
    assert history[0].startswith(f"v26 − term number 3 · /unwatch by {MODERATOR} · ")
    assert history[1].startswith(f"v25 + term number 24 · /watch by {MODERATOR} · ")
    unknown = (await harness.command(MODERATOR, "/framings nope"))[0]
    assert "no framing called nope" in unknown


async def test_long_framing_lists_are_split_into_valid_messages(harness: Harness) -> None:
    await harness.grant_roles()
    term = "слово " * 30  # 180 characters
    for n in range(40):
        await harness.command(MODERATOR, f"/watch long-one {term}{n} <&>")
    replies = await harness.command(MODERATOR, "/framings long-one")
    assert len(replies) >= 2
    assert all(len(r.encode("utf-16-le")) // 2 <= 4096 for r in replies)
    assert sum(r.count("&lt;&amp;&gt;") for r in replies) == 40 + 10  # terms, then history
