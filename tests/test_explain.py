"""/explain through the real bot: on a text, as a reply to a forwarded post, bad input,
roles, HTML escaping and long replies."""

from __future__ import annotations

import importlib
from html import escape
from html.parser import HTMLParser
from typing import Any

import pytest

from bot.rules import TermRule, explain
from bot.rules.engine import Engine
from bot.telegram_text import MAX_TEXT, units
from storage.packs import PackFraming
from tests.conftest import ANALYST, MODERATOR, STRANGER, Harness
from tests.fake_telegram import forwarded_channel_post, private_message

CHANNEL = -1001000000007


async def send(h: Harness, user_id: int, payload: dict[str, Any]) -> list[str]:
    before = len(h.tg.sent_to(user_id))
    await h.push(payload)
    return [m.text for m in h.tg.sent_to(user_id)[before:]]


def reply_to(user_id: int, text: str, replied: dict[str, Any]) -> dict[str, Any]:
    """`text` sent by user_id as a reply to the message `replied`."""
    payload = private_message(user_id, text)
    payload["message"]["reply_to_message"] = replied
    return payload


class _Tags(HTMLParser):
    """Checks a reply is HTML Telegram accepts: known tags, each closed, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in {"b", "i", "code"}, tag
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text += data


def plain(html_text: str) -> str:
    parser = _Tags()
    parser.feed(html_text)
    parser.close()
    assert parser.open == []
    return parser.text


async def test_explain_names_the_framing_the_term_the_words_and_their_lemmas(
    harness: Harness,
) -> None:
    await harness.grant_roles()
    await harness.command(MODERATOR, "/watch goodwill-gesture жест доброй воли")
    await harness.command(MODERATOR, "/watch feint tactical feint")

    (answer,) = await harness.command(ANALYST, "/explain Это было жестом доброй воли, не бегством.")

    text = plain(answer)
    assert "1 framings match, with 1 of 2 terms." in text
    assert "✅ goodwill-gesture\n" in text
    line = next(x for x in text.splitlines() if x.startswith("• “жест доброй воли”"))
    assert "жестом → жест" in line and "доброй → добрый" in line and "воли → воля" in line
    assert "feint" not in text.split("Closest misses")[0].split("✅")[1]


async def test_explain_shows_the_closest_miss_the_engine_gives(harness: Harness) -> None:
    await harness.grant_roles()
    await harness.command(MODERATOR, '/watch goodwill-gesture "жест доброй воли"')
    text = "Это было жестом доброй воли."
    [term] = await harness.services.framings.all_terms()
    [expected] = explain(text, [TermRule(term.term_id, term.framing_id, term.text)])

    (answer,) = await harness.command(MODERATOR, f"/explain {text}")

    assert not expected.matched
    assert "No framing matches: none of the 1 terms is found." in plain(answer)
    if expected.closest_miss:  # the engine gives one when it is cheap to find
        assert "Closest misses" in answer
        assert escape(expected.closest_miss) in answer


async def test_explain_as_a_reply_to_a_forwarded_post(harness: Harness) -> None:
    await harness.grant_roles()
    await harness.command(MODERATOR, "/watch organized-withdrawal перегруппировка войск")
    forwarded = forwarded_channel_post(
        MODERATOR, CHANNEL, 55, "Идёт плановая перегруппировка войск.", origin_username="echo"
    )
    await send(harness, MODERATOR, forwarded)  # the moderator forwards it: it is stored

    answer = await send(harness, MODERATOR, reply_to(MODERATOR, "/explain", forwarded["message"]))

    (only,) = answer
    assert "✅ organized-withdrawal" in plain(only)
    assert "перегруппировка → перегруппировка" in plain(only)


async def test_explain_without_text_or_reply_gets_the_usage(harness: Harness) -> None:
    await harness.grant_roles()
    await harness.command(MODERATOR, "/watch feint tactical feint")
    photo = forwarded_channel_post(ANALYST, CHANNEL, 9, "")["message"]
    del photo["text"]
    photo["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 9, "height": 9}]

    bare = await harness.command(ANALYST, "/explain")
    spaces = await harness.command(ANALYST, "/explain    ")
    no_text = await send(harness, ANALYST, reply_to(ANALYST, "/explain", photo))

    for answer in (bare, spaces, no_text):
        assert len(answer) == 1
        assert answer[0].startswith("Usage: <code>/explain &lt;text&gt;</code>, or reply")


async def test_explain_refuses_a_text_longer_than_a_telegram_message(harness: Harness) -> None:
    await harness.grant_roles()
    await harness.command(MODERATOR, "/watch feint tactical feint")
    long_post = private_message(MODERATOR, "tactical feint " * 274)["message"]

    (answer,) = await send(harness, ANALYST, reply_to(ANALYST, "/explain", long_post))

    assert "The text is 4109 characters long; I explain at most 4096." in answer
    assert "Usage:" in answer


async def test_explain_with_no_framings_says_so(harness: Harness) -> None:
    await harness.grant_roles()
    (answer,) = await harness.command(ANALYST, "/explain жест доброй воли")
    assert "There are no framings yet" in answer


async def test_explain_is_for_analysts_and_moderators(harness: Harness) -> None:
    await harness.grant_roles()
    await harness.command(MODERATOR, "/watch feint tactical feint")
    (refused,) = await harness.command(STRANGER, "/explain a tactical feint")
    assert "only analysts and moderators may use this command" in refused
    (help_text,) = await harness.command(ANALYST, "/help")
    assert "/explain &lt;text&gt;" in help_text


async def test_long_explanations_are_escaped_and_split_under_the_limit(harness: Harness) -> None:
    """Every word of a 4096-character post matches a term of a framing whose title needs
    escaping: the reply is valid HTML in several messages, each within Telegram's limit."""
    await harness.grant_roles()
    words = [f"word{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(400)]
    pack = [
        PackFraming(
            "many-terms",
            "Tags <b> & “quotes” </i>",
            "",
            tuple((w, w) for w in words),
        )
    ]
    await harness.services.framings.import_pack(pack, None, harness.clock(), "test", 500)
    text = " ".join(words)
    text = (text + " " + "x" * 4096)[:4096]
    post = private_message(MODERATOR, text)["message"]

    answer = await send(harness, ANALYST, reply_to(ANALYST, "/explain", post))

    assert len(answer) >= 2
    assert all(units(chunk) <= MAX_TEXT for chunk in answer)
    everything = "\n".join(plain(chunk) for chunk in answer)
    assert "✅ many-terms — Tags <b> & “quotes” </i>" in everything
    assert "1 framings match, with 400 of 400 terms." in everything
    assert all(f"• “{w}”" in everything for w in words)


async def test_explain_uses_the_rules_the_scan_compiled_and_compiles_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[Engine] = []

    class CountedEngine(Engine):  # the real engine; only its constructions are counted
        def __init__(self, rules: Any) -> None:
            super().__init__(rules)
            compiled.append(self)

    for module in ("bot.rules.matcher", "bot.rules.explain"):  # where Engine is built
        monkeypatch.setattr(importlib.import_module(module), "Engine", CountedEngine)
    await harness.grant_roles()
    await harness.command(MODERATOR, "/watch goodwill-gesture жест доброй воли")
    assert harness.app.job_queue is not None
    (scan_job,) = harness.app.job_queue.get_jobs_by_name("scan")
    await scan_job.run(harness.app)

    (answer,) = await harness.command(ANALYST, "/explain Это было жестом доброй воли.")

    assert "1 framings match, with 1 of 1 terms." in plain(answer)
    assert len(compiled) == 1 and harness.services.rules.compilations == 1
