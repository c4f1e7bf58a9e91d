"""/settings: each chat's own digest settings, by command arguments and by buttons.

Through the real application and a fake Bot API; buttons are pressed with callback_query
updates, forged ones included.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.context import Services
from bot.settings_card import CARD_TITLE, PER_PAGE, parse_button
from bot.subscriber_settings import parse_framings, parse_time, parse_zone, toggled
from bot.telegram_text import visible
from storage.subscriber_settings import SubscriberPrefs, SubscriberSettingsRepository
from tests.conftest import MODERATOR, Harness
from tests.fake_telegram import SentMessage, callback_query

CHAT, OTHER = 101, 102


async def setup(h: Harness) -> dict[str, int]:
    """Two framings; their ids by slug."""
    await h.grant_roles()
    await h.command(MODERATOR, "/watch goodwill-gesture жест доброй воли")
    await h.command(MODERATOR, "/watch feint tactical feint")
    return {slug: fid for fid, (slug, _) in (await h.services.framings.names()).items()}


def repo(h: Harness) -> SubscriberSettingsRepository:
    return SubscriberSettingsRepository(h.db)


def cards(h: Harness, chat_id: int) -> list[SentMessage]:
    return [m for m in h.tg.sent_to(chat_id) if m.text.startswith(f"<b>{CARD_TITLE}</b>")]


def buttons(card: SentMessage) -> list[tuple[str, str]]:
    rows = card.params["reply_markup"]["inline_keyboard"]
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


async def press(
    h: Harness, user_id: int, data: str, card: SentMessage | None = None, **message: Any
) -> str:
    """`user_id` presses a button with `data` (on `card`, else on a made-up message);
    returns the answer's text. Every press is answered exactly once."""
    before = len(h.tg.requests_for("answerCallbackQuery"))
    chat_id, message_id = (card.chat_id, card.message_id) if card else (user_id, 999)
    # Telegram gives the message's text without its markup.
    text = visible(card.text) if card else message.pop("text", "card")
    await h.push(callback_query(user_id, data, chat_id, message_id, text=text, **message))
    answers = h.tg.requests_for("answerCallbackQuery")[before:]
    assert len(answers) == 1
    return str(answers[0].params.get("text", ""))


async def audited(h: Harness) -> int:
    return int(await h.db.fetchval("SELECT count(*) FROM audit_log WHERE action = 'settings'"))


async def test_settings_shows_the_defaults_with_buttons(harness: Harness) -> None:
    ids = await setup(harness)
    (reply,) = await harness.command(CHAT, "/settings")
    assert reply.startswith(f"<b>{CARD_TITLE}</b>")
    assert "Time: <b>09:00</b> (Europe/Kyiv) · the bot's default" in reply
    assert "Form: <b>full</b>" in reply
    assert "Framings: <b>all</b> (2, and those added later)" in reply
    assert "not subscribed: /subscribe" in reply
    (card,) = cards(harness, CHAT)
    shown = buttons(card)
    assert ("✅ feint", f"set:f:{ids['feint']}:0") in shown
    assert ("✅ goodwill-gesture", f"set:f:{ids['goodwill-gesture']}:0") in shown
    assert ("Compact form", "set:c:0") in shown and ("Time: 09:00", "set:t") in shown
    assert await repo(harness).get(CHAT) == SubscriberPrefs(CHAT)  # showing stores nothing


async def test_each_setting_by_command_is_validated_and_persisted(harness: Harness) -> None:
    await setup(harness)
    assert (
        "Saved: the digest time is 08:30."
        in (await harness.command(CHAT, "/settings time 8:30"))[0]
    )
    (reply,) = await harness.command(CHAT, "/settings tz america/new_york")
    assert "Saved: the time zone is America/New_York." in reply
    assert (
        "Time: <b>08:30</b> (America/New_York)" in reply and "default" not in reply.split("\n")[1]
    )
    await harness.command(CHAT, "/settings framings feint")
    (reply,) = await harness.command(CHAT, "/settings compact on")
    assert "Form: <b>compact</b>" in reply and "<b>1 of 2</b>: feint" in reply
    expected = SubscriberPrefs(CHAT, "08:30", "America/New_York", True, ("feint",))
    assert await repo(harness).get(CHAT) == expected
    assert await repo(harness).get(OTHER) == SubscriberPrefs(OTHER)  # one chat's settings
    # A restart reads the same settings back from the file.
    restarted = Services.create(harness.services.settings, harness.db, harness.clock)
    assert await SubscriberSettingsRepository(restarted.db).get(CHAT) == expected
    assert await audited(harness) == 4
    (reply,) = await harness.command(CHAT, "/subscribe")
    assert "arrives here at 08:30 (America/New_York)" in reply
    # Naming every framing is "all" (framings added later follow); "default" resets.
    await harness.command(CHAT, "/settings framings feint, goodwill-gesture")
    await harness.command(CHAT, "/settings time default")
    await harness.command(CHAT, "/settings tz DEFAULT")
    await harness.command(CHAT, "/settings compact off")
    assert await repo(harness).get(CHAT) == SubscriberPrefs(CHAT)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ("time 25:00", "is not a time: give HH:MM"),
        ("time 8:5", "is not a time"),
        ("time 0830", "is not a time"),
        ("time ８:３０", "is not a time"),  # fullwidth digits
        ("time", "/settings time needs a value"),
        ("tz Mars/Olympus", "is not a time zone I know"),
        ("tz ../../etc/passwd", "is not a time zone I know"),
        ("tz localtime", "is not a time zone I know"),
        ("tz Europe", "is not a time zone I know"),
        ("tz <b>Europe/Kyiv</b>", "“&lt;b&gt;Europe/Kyiv&lt;/b&gt;” is not a time zone"),
        (
            "framings feint,nope,<x>",
            "I know no framing nope, &lt;x&gt;; nothing changed. The framings: feint, goodwill",
        ),
        ("framings ,", "Name at least one framing"),
        ("compact maybe", "say /settings compact on or /settings compact off"),
        ("colour red", "I know no setting “colour”"),
    ],
)
async def test_bad_arguments_are_refused_and_change_nothing(
    harness: Harness, args: str, says: str
) -> None:
    await setup(harness)
    await harness.command(CHAT, "/settings compact on")  # something stored, to see it kept
    before = await repo(harness).get(CHAT)
    (reply,) = await harness.command(CHAT, f"/settings {args}")
    assert says in reply and "Usage: /settings" in reply
    assert await repo(harness).get(CHAT) == before
    assert await audited(harness) == 1


async def test_buttons_switch_framings_form_and_time(harness: Harness) -> None:
    ids = await setup(harness)
    await harness.command(CHAT, "/settings")
    (card,) = cards(harness, CHAT)
    assert await press(harness, CHAT, f"set:f:{ids['feint']}:0", card) == "feint: off."
    assert (await repo(harness).get(CHAT)).framings == ("goodwill-gesture",)
    (card,) = cards(harness, CHAT)  # the same message, redrawn
    assert "<b>1 of 2</b>: goodwill-gesture" in card.text
    assert ("▫️ feint", f"set:f:{ids['feint']}:0") in buttons(card)
    # The last chosen framing cannot go: a digest of nothing.
    answer = await press(harness, CHAT, f"set:f:{ids['goodwill-gesture']}:0", card)
    assert answer.startswith("Keep at least one framing")
    assert (await repo(harness).get(CHAT)).framings == ("goodwill-gesture",)
    assert await press(harness, CHAT, f"set:f:{ids['feint']}:0", card) == "feint: on."
    assert (await repo(harness).get(CHAT)).framings is None  # both chosen: all
    assert await press(harness, CHAT, "set:c:0", card) == "Compact form."
    assert (await repo(harness).get(CHAT)).compact is True
    await press(harness, CHAT, "set:t", card)
    (card,) = cards(harness, CHAT)
    assert ("07:00", "set:h:07") in buttons(card) and ("The bot's time", "set:h:d") in buttons(card)
    assert await press(harness, CHAT, "set:h:07", card) == "The digest comes at 07:00."
    (card,) = cards(harness, CHAT)
    assert "Time: <b>07:00</b> (Europe/Kyiv)" in card.text and ("Time: 07:00", "set:t") in buttons(
        card
    )
    await press(harness, CHAT, "set:f:" + str(ids["feint"]) + ":0", card)
    assert await press(harness, CHAT, "set:a:0", card) == "All framings."
    await press(harness, CHAT, "set:h:d", card)
    assert await repo(harness).get(CHAT) == SubscriberPrefs(CHAT, compact=True)
    assert len(cards(harness, CHAT)) == 1  # every press redrew the one card


async def test_forged_stale_and_foreign_presses_are_answered_and_change_nothing(
    harness: Harness,
) -> None:
    ids = await setup(harness)
    await harness.command(CHAT, "/settings")
    (card,) = cards(harness, CHAT)
    cases = [
        ("set:f:999999:0", card, {}, "That framing no longer exists"),
        ("set:f:abc:0", card, {}, "This button is not one of mine"),
        ("set:x", card, {}, "This button is not one of mine"),
        ("set:h:24", card, {}, "This button is not one of mine"),
        ("set:" + "9" * 61, card, {}, "This button is not one of mine"),
        # A real-looking button on a message that is no settings card (an approval card).
        (
            "set:c:0",
            None,
            {"text": "Channel waiting for approval"},
            "does not belong to a settings",
        ),
        # A card older than 48 hours: the bot cannot see which message it is on.
        ("set:c:0", None, {"inaccessible": True}, "too old to change"),
    ]
    for data, on, message, says in cases:
        assert says in await press(harness, CHAT, data, on, **message), data
    assert await repo(harness).get(CHAT) == SubscriberPrefs(CHAT)
    assert await audited(harness) == 0
    # A page far past the last one shows the last page; nothing changes.
    await press(harness, CHAT, "set:p:999999", card)
    assert await repo(harness).get(CHAT) == SubscriberPrefs(CHAT)
    # Whoever presses, a button changes the chat its card is in, never the presser's own.
    await press(harness, OTHER, f"set:f:{ids['feint']}:0", card)
    assert (await repo(harness).get(CHAT)).framings == ("goodwill-gesture",)
    assert await repo(harness).get(OTHER) == SubscriberPrefs(OTHER)


async def test_many_framings_are_paged_with_ids_in_short_callback_data(harness: Harness) -> None:
    await harness.grant_roles()
    slugs = [f"{'x' * 60}-{n:02d}" for n in range(25)]  # 63 characters: too long for data
    for slug in slugs:
        await harness.services.framings.add_term(slug, "term", "term", MODERATOR, harness.clock())
    await harness.command(CHAT, "/settings")
    (card,) = cards(harness, CHAT)
    data = [d for _, d in buttons(card)]
    assert len([d for d in data if d.startswith("set:f:")]) == PER_PAGE
    assert ("1/3", "set:p:0") in buttons(card) and ("›", "set:p:1") in buttons(card)
    await press(harness, CHAT, "set:p:2", card)
    (card,) = cards(harness, CHAT)
    last_page = [t for t, d in buttons(card) if d.startswith("set:f:")]
    assert last_page == [f"✅ {slug}" for slug in slugs[20:]]
    assert all(len(d.encode()) <= 64 for _, d in buttons(card))
    # A switch pressed on page 3 keeps page 3 on screen.
    fid = next(d for t, d in buttons(card) if t.endswith(slugs[24]))
    await press(harness, CHAT, fid, card)
    (card,) = cards(harness, CHAT)
    assert ("▫️ " + slugs[24], fid) in buttons(card) and ("3/3", "set:p:2") in buttons(card)
    assert len((await repo(harness).get(CHAT)).framings or ()) == 24


def test_parsers_accept_what_they_promise_and_nothing_else() -> None:
    assert parse_time("08:30") == "08:30" and parse_time(" 0:00 ") == "00:00"
    assert [parse_time(t) for t in ("24:00", "12:60", "12:3", "-1:30", "123:00", "", ":")] == [
        None
    ] * 7
    assert parse_zone("utc") == "UTC" and parse_zone("Europe/Kyiv") == "Europe/Kyiv"
    assert [parse_zone(z) for z in ("", "Europe/", "/etc/localtime", "x" * 100, "Kyiv")] == [
        None
    ] * 5
    assert parse_framings("ALL", {"a": 1}) == (None, [])
    assert parse_framings("a, b c", {"a": 1, "b": 2}) == ([1, 2], ["c"])
    assert toggled(None, [1, 2, 3], 2) == [1, 3] and toggled([1, 3], [1, 2, 3], 2) is None
    assert toggled([1], [1, 2], 1) == []
    assert parse_button("set:f:12:3") is not None and parse_button("set:f:12:3\n") is None
    assert parse_button(None) is None and parse_button("chan:approve:1") is None
