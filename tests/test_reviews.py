"""Reviews: moderators mark matches correct, not this framing, or quoted to debunk it, and
rejected matches leave digests, counts and trends (issue 11, part 3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.commands.export import MATCH_COLUMNS, match_row
from bot.delivery import compose
from bot.digest_render import render_plain
from bot.reviews import PRECISION_MIN_VERDICTS, parse_button, wilson_lower
from bot.scan import run_scan
from storage.exports import ExportRepository
from storage.trends import TrendRepository
from storage.verdicts import VerdictRepository
from tests.conftest import ANALYST, MODERATOR, Harness
from tests.fake_telegram import SentMessage, callback_query, channel_post, my_chat_member

CHANNEL = -1001777000001
FRAMING = "goodwill-gesture"
TEXTS = {  # message id -> text; a higher id is a newer post
    1: "Это был жест доброй воли, заявили в министерстве.",
    2: "Так называемый «жест доброй воли» — это бегство, пишут аналитики.",
    3: "Жест доброй воли: спортсмены пожали руки после матча.",
    4: "Отступление назвали жестом доброй воли.",
}


async def setup(h: Harness, texts: dict[int, str] = TEXTS) -> None:
    await h.grant_roles()
    await h.command(MODERATOR, f"/watch {FRAMING} жест доброй воли")
    await h.push(my_chat_member(CHANNEL, "News", "news", user_id=MODERATOR))
    for message_id, text in texts.items():
        date = int((h.clock.now - timedelta(hours=10 - message_id / 10)).timestamp())
        await h.push(channel_post(CHANNEL, message_id, text, username="news", date=date))
    await run_scan(h.services.framings, h.services.matches, h.clock)


def cards(h: Harness, chat_id: int) -> list[SentMessage]:
    return [m for m in h.tg.sent_to(chat_id) if "reply_markup" in m.params]


def buttons(card: SentMessage) -> dict[str, str]:
    """Button text -> callback data."""
    rows = card.params.get("reply_markup", {"inline_keyboard": []})["inline_keyboard"]
    return {b["text"].removeprefix("• "): b["callback_data"] for row in rows for b in row}


async def press(h: Harness, user_id: int, data: str, card: SentMessage | None = None) -> Any:
    before = len(h.tg.requests_for("answerCallbackQuery"))
    chat_id, message_id = (card.chat_id, card.message_id) if card else (user_id, 999)
    await h.push(callback_query(user_id, data, chat_id, message_id))
    answers = h.tg.requests_for("answerCallbackQuery")[before:]
    assert len(answers) == 1  # every press is answered, exactly once
    return answers[0].params


async def press_old(h: Harness, user_id: int, data: str) -> Any:
    """A press on a card the bot can no longer see (older than 48 hours)."""
    before = len(h.tg.requests_for("answerCallbackQuery"))
    edits = len(h.tg.requests_for("editMessageText"))
    await h.push(callback_query(user_id, data, user_id, 1, inaccessible=True))
    (answer,) = h.tg.requests_for("answerCallbackQuery")[before:]
    assert len(h.tg.requests_for("editMessageText")) == edits  # nothing to edit
    return answer.params


async def verdicts(h: Harness) -> dict[int, tuple[str, int]]:
    """message id -> (verdict, user)."""
    rows = await h.db.fetchall(
        "SELECT p.message_id, v.verdict, v.user_id FROM verdicts v JOIN posts p ON p.id = v.post_id"
    )
    return {r[0]: (r[1], r[2]) for r in rows}


async def audited(h: Harness) -> list[tuple[int, str]]:
    rows = await h.db.fetchall(
        "SELECT user_id, detail FROM audit_log WHERE action = 'review' ORDER BY id"
    )
    return [(r[0], r[1]) for r in rows]


async def digest(h: Harness) -> str:
    now = h.clock.now
    return render_plain(await compose(h.services, now - timedelta(hours=24), now))


async def test_each_button_stores_an_audited_verdict_and_edits_the_card_to_the_next(
    harness: Harness,
) -> None:
    h = harness
    await setup(h)
    assert len(await h.command(MODERATOR, "/review")) == 1  # one card, with buttons
    (card,) = cards(h, MODERATOR)
    sent = len(h.tg.sent_to(MODERATOR))
    assert "t.me/news/4" in card.text and FRAMING in card.text and "жест доброй воли" in card.text
    assert "<b>жестом доброй воли</b>" in card.text  # the match in bold
    assert set(buttons(card)) == {"correct", "not this framing", "quoted to debunk it", "skip"}
    assert all(len(d.encode()) <= 64 for d in buttons(card).values())

    answer = await press(h, MODERATOR, buttons(card)["correct"], card)
    assert answer["text"] == "Marked correct."
    assert "t.me/news/3" in card.text and "marked <b>correct</b>" in card.text  # edited in place
    assert "↩ undo / change the last verdict" in buttons(card)
    answer = await press(h, MODERATOR, buttons(card)["not this framing"], card)
    assert answer["text"] == "Marked not this framing."
    assert "t.me/news/2" in card.text
    await press(h, MODERATOR, buttons(card)["quoted to debunk it"], card)
    assert "t.me/news/1" in card.text
    answer = await press(h, MODERATOR, buttons(card)["skip"], card)
    assert answer["text"].startswith("Skipped")
    assert "No more unreviewed matches" in card.text and "reply_markup" not in card.params

    assert len(h.tg.sent_to(MODERATOR)) == sent  # one card, edited each time
    assert len(h.tg.requests_for("editMessageText")) == 4
    assert await verdicts(h) == {
        4: ("correct", MODERATOR),
        3: ("wrong_framing", MODERATOR),
        2: ("debunk", MODERATOR),
    }  # the skipped post 1 has none
    log = await audited(h)
    assert [who for who, _ in log] == [MODERATOR] * 3
    assert log[1][1].endswith("unreviewed -> wrong_framing") and FRAMING in log[1][1]
    # The skipped match comes back on the next /review.
    await h.command(MODERATOR, "/review")
    assert "t.me/news/1" in cards(h, MODERATOR)[-1].text


async def test_rejected_matches_leave_digests_counts_and_trends(harness: Harness) -> None:
    h = harness
    await setup(h)
    repo = VerdictRepository(h.db)
    ids = {r[1]: r[0] for r in await h.db.fetchall("SELECT id, message_id FROM posts")}
    framing_id = await repo.framing_id(FRAMING)
    assert framing_id is not None
    now = h.clock.now
    trends = TrendRepository(h.db)
    day = [(int((now - timedelta(days=1)).timestamp()), int(now.timestamp()))]
    (before,) = await trends.daily_counts(day, FRAMING)
    assert before.posts == 4
    for message_id, verdict in ((3, "wrong_framing"), (2, "debunk"), (4, "correct")):
        decision = await repo.decide(
            ids[message_id],
            framing_id,
            verdict,
            None,
            MODERATOR,
            now,  # type: ignore[arg-type]
        )
        assert decision.outcome == "stored"

    text = await digest(h)
    assert "t.me/news/4" in text and "t.me/news/1" in text
    assert "t.me/news/3" not in text and "t.me/news/2" not in text
    (after,) = await trends.daily_counts(day, FRAMING)
    assert after.posts == 2
    linked = await trends.matched_posts(FRAMING, day[0][0], day[0][1])
    assert sorted(p.message_id for p in linked) == [1, 4]
    assert len(await h.services.matches.match_times(now - timedelta(days=1), now)) == 2
    (stats,) = await h.services.framings.list_with_stats()
    assert stats.post_count == 2
    # Exports keep every match and show its verdict.
    exported = [match_row(m) async for m in ExportRepository(h.db).matches(FRAMING, None)]
    assert "verdict" in MATCH_COLUMNS
    assert sorted((r["link"][-1], r["verdict"]) for r in exported) == [
        ("1", None), ("2", "debunk"), ("3", "wrong_framing"), ("4", "correct")
    ]  # fmt: skip
    # Taking a verdict back counts the match again.
    await repo.decide(ids[3], framing_id, None, "wrong_framing", MODERATOR, now)
    (again,) = await trends.daily_counts(day, FRAMING)
    assert again.posts == 3
    # Changing a verdict moves the match out (or back in) at once.
    await repo.decide(ids[4], framing_id, "debunk", "correct", MODERATOR, now)
    (changed,) = await trends.daily_counts(day, FRAMING)
    assert changed.posts == 2
    await repo.decide(ids[4], framing_id, "correct", "debunk", MODERATOR, now)
    (back,) = await trends.daily_counts(day, FRAMING)
    assert back.posts == 3
    # Deleting reviewed posts takes their verdicts and counted rows with them.
    async with h.db.atomic() as conn:
        await conn.execute("DELETE FROM posts WHERE message_id IN (2, 4)")
    assert await h.db.fetchval("SELECT count(*) FROM verdicts") == 0  # 3's was taken back
    rows = await h.db.fetchall("SELECT post_id FROM trend_posts ORDER BY post_id")
    assert [r[0] for r in rows] == [ids[1], ids[3]]


async def test_stale_forged_double_and_unauthorised_presses_change_nothing(
    harness: Harness,
) -> None:
    h = harness
    await setup(h)
    await h.command(MODERATOR, "/review")
    (card,) = cards(h, MODERATOR)
    correct = buttons(card)["correct"]

    refused = await press(h, ANALYST, correct, card)
    assert "Only moderators" in refused["text"] and refused["show_alert"] is True
    assert await verdicts(h) == {} and "t.me/news/4" in card.text

    await press(h, MODERATOR, correct, card)
    double = await press(h, MODERATOR, correct, card)  # the same card data pressed again
    assert "out of date" in double["text"] and "correct by user 2" in double["text"]
    wrong_now = correct.replace("rv:c", "rv:w")  # a stale card's other button
    stale = await press(h, MODERATOR, wrong_now, card)
    assert "out of date" in stale["text"]
    for forged in ("rv:cna:999999:1", "rv:xna:1:1", "rv:cna:1", "rv:" + "9" * 70, "rv:cna:01:1"):
        answer = await press(h, MODERATOR, forged, card)
        assert "Nothing changed" in answer["text"] or "not one of mine" in answer["text"]
    assert await verdicts(h) == {4: ("correct", MODERATOR)}
    assert len(await audited(h)) == 1

    # A match deleted meanwhile (the term removed): the press is refused.
    post_3 = buttons(card)["not this framing"]
    await h.command(MODERATOR, f"/unwatch {FRAMING} жест доброй воли")
    gone = await press(h, MODERATOR, post_3, card)
    assert "gone" in gone["text"]
    # The verdict given earlier stays: it judges the post for the framing, not the term.
    assert await verdicts(h) == {4: ("correct", MODERATOR)}
    assert len(await audited(h)) == 1


async def test_undo_and_review_of_a_post_change_a_verdict(harness: Harness) -> None:
    h = harness
    await setup(h)
    await h.command(MODERATOR, f"/review {FRAMING}")
    (card,) = cards(h, MODERATOR)
    await press(h, MODERATOR, buttons(card)["not this framing"], card)
    answer = await press(h, MODERATOR, buttons(card)["↩ undo / change the last verdict"], card)
    assert answer["text"] == "Verdict taken back: choose again."
    assert "t.me/news/4" in card.text and "Not reviewed yet" in card.text
    assert await verdicts(h) == {}
    await press(h, MODERATOR, buttons(card)["quoted to debunk it"], card)
    assert await verdicts(h) == {4: ("debunk", MODERATOR)}

    # /review <link> on a reviewed post shows its verdict and changes it.
    await h.command(MODERATOR, "/review https://t.me/news/4")
    shown = cards(h, MODERATOR)[-1]
    assert "Marked <b>quoted to debunk it</b> by user 2" in shown.text
    answer = await press(h, MODERATOR, buttons(shown)["correct"], shown)
    assert answer["text"] == "Marked correct."
    assert "Marked <b>correct</b>" in shown.text  # the same card, now showing the change
    assert await verdicts(h) == {4: ("correct", MODERATOR)}
    changes = [detail.split(": ")[1] for _, detail in await audited(h)]
    assert changes == [
        "unreviewed -> wrong_framing",
        "wrong_framing -> unreviewed",
        "unreviewed -> debunk",
        "debunk -> correct",
    ]
    # A card too old for the bot to edit (48 hours): the press still counts and is answered.
    old = await press_old(h, MODERATOR, buttons(shown)["not this framing"])
    assert old["text"] == "Marked not this framing."
    assert await verdicts(h) == {4: ("wrong_framing", MODERATOR)}
    # Hostile /review arguments: a clear reply, nothing changed.
    assert "no framing called" in (await h.command(MODERATOR, "/review nosuch"))[0]
    assert "not stored" in (await h.command(MODERATOR, "/review https://t.me/news/99"))[0]
    assert "Sorry, only moderators" in (await h.command(ANALYST, "/review"))[0]
    helps = ["\n".join(await h.command(who, "/help")) for who in (MODERATOR, ANALYST)]
    assert "/review" in helps[0] and "/suggest" in helps[0]
    assert "/review" not in helps[1] and "/suggest" not in helps[1]


async def test_precision_shows_from_twenty_verdicts(harness: Harness) -> None:
    h = harness
    texts = {n: f"Пост {n}: жест доброй воли." for n in range(1, PRECISION_MIN_VERDICTS + 2)}
    await setup(h, texts)
    repo = VerdictRepository(h.db)
    framing_id = await repo.framing_id(FRAMING)
    assert framing_id is not None
    ids = [r[0] for r in await h.db.fetchall("SELECT id FROM posts ORDER BY id")]
    for number, post_id in enumerate(ids[: PRECISION_MIN_VERDICTS - 1]):
        verdict = "wrong_framing" if number < 3 else "correct"
        await repo.decide(post_id, framing_id, verdict, None, MODERATOR, h.clock.now)
    below = "\n".join(await h.command(MODERATOR, f"/framings {FRAMING}"))
    assert "21 hits · 19 reviewed: 16 correct, 3 wrong" in below and "precision ≥" not in below
    await repo.decide(ids[19], framing_id, "correct", None, MODERATOR, h.clock.now)
    at = "\n".join(await h.command(MODERATOR, f"/framings {FRAMING}"))
    # 17 of 20 correct: Wilson 95 % lower bound 0.640 (computed by hand:
    # (0.85 + 1.96²/40 − 1.96·√(0.85·0.15/20 + 1.96²/1600)) / (1 + 1.96²/20) = 0.6396).
    assert "20 reviewed: 17 correct, 3 wrong · precision ≥ 64% (Wilson 95%)" in at
    assert abs(wilson_lower(17, 20) - 0.6396) < 0.001


def test_button_data_is_parsed_strictly() -> None:
    assert parse_button("rv:cnf:12:3") is not None
    for bad in (None, 5, "rv:cnf:12:3\n", "rv:cnf:0:3", "rv:cnf:1:2:3", "chan:approve:1"):
        assert parse_button(bad) is None
