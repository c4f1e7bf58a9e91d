"""/suggest: NOT-terms and new terms ranked by Fightin' Words log-odds, and the button that
adds a suggestion as /watch does."""

from __future__ import annotations

import math
from collections import Counter

from bot.scan import run_scan
from bot.suggest import Doc, log_odds, suggest
from storage.verdicts import VerdictRepository
from tests.conftest import ANALYST, MODERATOR, Harness
from tests.test_reviews import FRAMING, buttons, cards, press, setup

CORRECT = {
    1: "Отступление армии назвали жестом доброй воли.",
    2: "Очередное отступление — снова жест доброй воли, говорят в Москве.",
    3: "Жест доброй воли: так объяснили отступление из Херсона.",
    4: "Отступление войск подали как жест доброй воли.",
}
WRONG = {
    5: "Спортсмены пожали руки после матча — жест доброй воли.",
    6: "Жест доброй воли на поле: спортсмены пожали руки до матча.",
    7: "После матча спортсмены пожали руки, настоящий жест доброй воли.",
}
UNMATCHED = {
    8: "Погода сегодня хорошая, дождя не будет.",
    9: "Курс рубля снова упал.",
    10: "Армия провела учения на полигоне.",
    11: "Отступление армии назвали перегруппировкой.",
}


def test_log_odds_matches_a_hand_computation() -> None:
    # focus x:3 y:1 (n=4), other x:1 y:5 (n=6); prior = both (x:4 y:6, n=10), A0 = 10:
    # a_x = 10 * 4/10 = 4; delta_x = ln(7 / (4+10-3-4)) - ln(5 / (6+10-1-4)) = -ln(5/11)
    # = 0.788457; var = 1/7 + 1/5 = 0.342857; z = 0.788457 / 0.585540 = 1.346547.
    focus = Counter({("x",): 3, ("y",): 1})
    other = Counter({("x",): 1, ("y",): 5})
    delta, z = log_odds(focus, other, focus + other, [("x",), ("y",)], prior_weight=10)
    assert math.isclose(delta[0], 0.788457, abs_tol=1e-5)
    assert math.isclose(z[0], 1.346547, abs_tol=1e-5)
    assert z[1] < 0  # y is the other group's word


def test_over_represented_words_rank_first() -> None:
    def docs(texts: dict[int, str]) -> list[Doc]:
        return [Doc(t, f"https://t.me/news/{n}") for n, t in texts.items()]

    found = suggest(docs(WRONG), docs(CORRECT), docs(UNMATCHED), ["жест доброй воли"])
    top_not = {s.phrase for s in found.not_terms[:3]}
    assert top_not <= {"спортсмен", "матч", "пожать", "рука", "пожать рука", "спортсмен пожать"}
    assert all(s.z > 0 for s in found.not_terms)
    assert found.not_terms[0].focus == 3 and found.not_terms[0].other == 0
    first = found.new_terms[0]
    assert (first.phrase, first.focus, first.other) == ("отступление", 4, 1)
    assert first.example == "https://t.me/news/11"  # a post the framing misses
    # Parts of the existing term are never suggested as new terms.
    assert not {"жест", "добрый", "воля", "добрый воля"} & {s.phrase for s in found.new_terms}


async def test_suggest_ranks_and_its_button_adds_the_term(harness: Harness) -> None:
    h = harness
    await setup(h, {**CORRECT, **WRONG, **UNMATCHED})
    repo = VerdictRepository(h.db)
    framing_id = await repo.framing_id(FRAMING)
    assert framing_id is not None
    ids = {r[1]: r[0] for r in await h.db.fetchall("SELECT id, message_id FROM posts")}
    for numbers, verdict in ((CORRECT, "correct"), (WRONG, "wrong_framing")):
        for number in numbers:
            await repo.decide(ids[number], framing_id, verdict, None, MODERATOR, h.clock.now)  # type: ignore[arg-type]

    replies = await h.command(MODERATOR, f"/suggest {FRAMING}")
    text = "\n".join(replies)
    assert "4 correct and 3 rejected" in text
    not_part, new_part = text.split("<b>New terms</b>")
    assert "<b>отступление</b> · z = " in new_part.split("\n")[1]  # ranked first
    assert "спортсмен" in not_part and "спортсмен" not in new_part
    (card,) = cards(h, MODERATOR)
    add = buttons(card)["+ отступление"]

    refused = await press(h, ANALYST, add, card)
    assert "Only moderators" in refused["text"]
    forged = await press(h, MODERATOR, "sg:999999:отступление", card)
    assert "gone" in forged["text"]
    assert await h.services.framings.term_count(FRAMING) == 1

    before = len(h.tg.sent_to(MODERATOR))
    await press(h, MODERATOR, add, card)
    (added,) = [m.text for m in h.tg.sent_to(MODERATOR)[before:]]
    assert "added “отступление”" in added
    assert await h.services.framings.term_count(FRAMING) == 2
    row = await h.db.fetchone(
        "SELECT via, user_id FROM rule_changes WHERE term_text = 'отступление'"
    )
    assert row is not None and tuple(row) == ("/suggest", MODERATOR)
    audit = await h.db.fetchone(
        "SELECT user_id FROM audit_log WHERE action = 'watch' AND detail = ?",
        (f"{FRAMING}: отступление",),
    )
    assert audit is not None and audit[0] == MODERATOR
    # The rescan applies it to the stored posts: post 11 is matched now.
    await run_scan(h.services.framings, h.services.matches, h.clock)
    matched = await h.db.fetchval(
        "SELECT count(*) FROM matches m JOIN posts p ON p.id = m.post_id WHERE p.message_id = 11"
    )
    assert matched == 1
    again = await press(h, MODERATOR, add, card)  # a double press: nothing more
    assert again["text"].startswith("Done")
    assert await h.services.framings.term_count(FRAMING) == 2
    assert "Usage: /suggest" in (await h.command(MODERATOR, "/suggest"))[0]
    assert "no framing called" in (await h.command(MODERATOR, "/suggest nosuch"))[0]
