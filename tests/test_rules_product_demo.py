"""The default pack on the demo's invented sample posts, and on harmless uses of its phrases:
what `make demo` flags, and the bold span a digest shows for boolean terms."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.context import Services
from bot.demo import demo_summary, run_demo
from bot.framings import default_pack_path, read_pack
from bot.rules import TermRule, compile_matcher
from storage.db import open_database

NOW = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)

# message id -> the framings the default pack finds in it (bot/demo/sample_posts.json).
EXPECTED_DEMO = {
    101: {"organized-withdrawal"},
    102: {"goodwill-gesture"},
    103: {"organized-withdrawal"},
    104: {"organized-withdrawal"},
    105: {"feint"},
    106: {"goodwill-gesture"},
    108: {"special-military-operation"},
    109: {"kyiv-regime"},
    110: {"us-biolabs"},
    201: {"organized-withdrawal"},
    202: {"goodwill-gesture"},
    203: {"blame-advisers"},
    205: {"goodwill-gesture"},
    206: {"feint"},
    207: {"blame-advisers"},
    208: {"nato-fighting-russia"},
    209: {"denazification"},
    301: {"organized-withdrawal"},
    302: {"goodwill-gesture"},
    304: {"organized-withdrawal"},
    305: {"blame-advisers"},
    306: {"feint"},
    401: {"organized-withdrawal"},
    402: {"goodwill-gesture"},
    403: {"goodwill-gesture"},
    404: {"goodwill-gesture", "organized-withdrawal", "feint", "blame-advisers"},
    405: {"feint"},
    406: {"blame-advisers"},
    407: {"blame-advisers"},
    501: {"goodwill-gesture"},
    502: {"feint"},
    503: {"organized-withdrawal"},
    506: {"feint"},
    508: {"special-military-operation", "nato-fighting-russia"},
    509: {"kyiv-regime"},
    # A coordinated push: near-identical posts in four channels within 15 minutes.
    601: {"us-biolabs"},
    701: {"us-biolabs"},
    130: {"us-biolabs"},
    229: {"us-biolabs"},
    # us-biolabs: quiet for weeks, then surging on the demo's last day (bot/trends.py).
    **{mid: {"us-biolabs"} for mid in (123, 124, 125, 222, 223, 224, 225, 321, 322, 523, 524, 525)},
}
# Weather, sports, markets; a police "special operation", an office's "режим работы", a
# university lab, Germany's denazification after 1945, a proxy war in Yemen, and two posts
# that call the war a "так звана" (so-called) special operation.
HARMLESS_DEMO = {107, 111, 204, 210, 303, 307, 308, 309, 408, 504, 505, 507, 510, 511}
# Weeks of everyday posts (weather, sport, markets) that make the trends' baseline.
HARMLESS_DEMO |= {*range(112, 123), *range(211, 222), *range(310, 321), *range(512, 523)}


@pytest.fixture
async def demo_services(tmp_path: Path) -> AsyncIterator[Services]:
    db = await open_database(tmp_path / "demo.db")
    settings = Settings(_env_file=None, db_path=str(tmp_path / "demo.db"))
    yield Services.create(settings, db, lambda: NOW)
    await db.close()


async def test_demo_flags_the_framings_and_not_the_harmless_posts(
    demo_services: Services,
) -> None:
    result = await run_demo(demo_services)

    rows = await demo_services.db.fetchall(
        "SELECT DISTINCT p.message_id, f.slug FROM matches m JOIN posts p ON p.id = m.post_id"
        " JOIN framings f ON f.id = m.framing_id"
    )
    found: dict[int, set[str]] = {}
    for message_id, slug in rows:
        found.setdefault(message_id, set()).add(slug)
    assert found == EXPECTED_DEMO
    assert not HARMLESS_DEMO & found.keys()
    assert (result.framings, result.posts, result.flagged_posts) == (9, 109, len(EXPECTED_DEMO))
    summary = demo_summary(result)
    assert summary.startswith(f"Loaded 9 framings with {result.terms} terms and 109 invented")
    assert "FrameWatch digest" in summary and "https://t.me/" in summary
    # The demo's fact-checking channel is a watchdog: its posts are listed apart.
    assert "Quoted by watchdogs (not counted above)" in summary
    assert "— 6 posts in 5 channels" not in summary  # feint: 4 in 4, plus 2 quoted
    # The invented coordinated push of near-identical "biolabs" posts (issue 10).
    assert "first seen in @demo_vecherny_efir at " in summary
    assert "pushed by 4 channels within 9 min with near-identical text" in summary
    # The invented surge of "US biolabs" heads the digest.
    first = summary.split("\n\n")[2]
    assert "(us-biolabs) — 15 posts in 6 channels" in first
    # How many of them fell on the surging local day depends on the hour the demo runs.
    assert re.search(r"surging: 1[0-5] posts vs [0-9.]+ expected \(p < 0\.001\)", first)


async def test_digest_bold_spans_are_the_words_found(demo_services: Services) -> None:
    """A boolean term's span is where its words are, not the whole post."""
    await run_demo(demo_services)
    items = await demo_services.matches.digest_items(NOW - timedelta(days=7), NOW)

    spans = {(i.message_id, i.text[i.match_start : i.match_end]) for i in items}
    for message_id, span in spans:
        assert 0 < len(span) <= 80, (message_id, span)
    # An AND NOT term ("goodwill gesture AND NOT (customer OR ...)") bolds its phrase.
    assert (501, "goodwill gesture") in spans
    # NEAR: the earlier of its two phrases.
    assert (207, "ввели в заблуждение") in spans
    # AND: the earliest of the words that made it true.
    assert (502, "pullback") in spans


HARMLESS = [
    "As a goodwill gesture the airline refunded every customer.",
    "Нападающий сделал обманный манёвр и забил красивый гол.",
    "Команда провела перегруппировку сил перед решающим матчем.",
    "Рекламщики ввели в заблуждение покупателей.",
    "Спецоперация полиции по задержанию наркоторговцев прошла успешно.",
    "Так называемая «специальная военная операция» идёт третий год.",
    "Київський режим роботи метро змінено на час свят.",
    "Денацификация Германии после 1945 года шла медленно.",
    "The proxy war in Yemen has lasted for years.",
    "Биолаборатория университета получила новый грант.",
]
FRAMED = [
    ("Отступление — это жест доброй воли.", "goodwill-gesture"),
    ("Мы имеем дело с жестами доброй воли.", "goodwill-gesture"),
    ("Це був жест доброї волі.", "goodwill-gesture"),
    ("It was another gesture of goodwill.", "goodwill-gesture"),
    ("Войска отошли на заранее подготовленные позиции.", "organized-withdrawal"),
    ("Изюм — это обманный манёвр.", "feint"),
    ("Президента ввели в заблуждение генералы.", "blame-advisers"),
    ("Участники СВО вернулись домой.", "special-military-operation"),
    ("В ходе специальной военной операции освобождены сёла.", "special-military-operation"),
    ("Учасники спеціальної військової операції", "special-military-operation"),
    ("Преступления киевского режима.", "kyiv-regime"),
    ("The Kyiv regime refuses to negotiate.", "kyiv-regime"),
    ("Цели денацификации Украины будут достигнуты.", "denazification"),
    ("Денацифікація України — міф пропаганди? Ні, мета Кремля.", "denazification"),
    ("The denazification of Ukraine continues.", "denazification"),
    ("НАТО фактически воюет с Россией.", "nato-fighting-russia"),
    ("Росія веде війну з НАТО.", "nato-fighting-russia"),
    ("This is a proxy war against Russia.", "nato-fighting-russia"),
    ("Американские биолаборатории на Украине.", "us-biolabs"),
    ("Американські біолабораторії в Україні.", "us-biolabs"),
    ("Pentagon-funded biolabs in Ukraine.", "us-biolabs"),
]


def default_matcher() -> tuple[object, dict[int, str]]:
    pack = read_pack(default_pack_path())
    rules, slugs = [], {}
    for framing_id, framing in enumerate(pack, 1):
        slugs[framing_id] = framing.slug
        rules += [
            TermRule(framing_id * 1000 + n, framing_id, text)
            for n, (text, _key) in enumerate(framing.terms)
        ]
    return compile_matcher(rules), slugs


def test_default_pack_finds_each_framing_and_skips_harmless_uses() -> None:
    matcher, slugs = default_matcher()
    find = matcher.find  # type: ignore[attr-defined]
    for text, slug in FRAMED:
        assert {slugs[h.framing_id] for h in find(text)} == {slug}, text
    for text in HARMLESS:
        assert find(text) == [], text
