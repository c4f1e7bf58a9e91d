"""The quality set (tests/fixtures/rules_quality.toml): every case and every post is asserted."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.rules import TermRule, check_term, compile_matcher

QUALITY = Path(__file__).parent / "fixtures" / "rules_quality.toml"
DATA: dict[str, Any] = tomllib.loads(QUALITY.read_text(encoding="utf-8"))


def first_hit_text(term: str, text: str) -> str:
    hits = compile_matcher([TermRule(1, 1, term)]).find(text)
    return text[hits[0].start : hits[0].end] if hits else ""


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=f"{n}-{c['kind']}") for n, c in enumerate(DATA["case"])],
)
def test_quality_case(case: dict[str, str]) -> None:
    assert check_term(case["term"]) == " ".join(case["term"].split())
    assert first_hit_text(case["term"], case["text"]) == case["match"]


def test_the_quality_set_covers_every_language_and_kind() -> None:
    kinds = {case["kind"].split("-")[0] for case in DATA["case"]}
    assert {"inflected", "quoted", "lookalike", "prefix", "and", "or", "not", "near", "regex"} <= (
        kinds
    )
    assert {post["lang"] for post in DATA["post"]} == {"ru", "uk", "en"}
    assert any(not post["framings"] for post in DATA["post"])  # harmless uses and debunks


def pack_matcher() -> tuple[Any, dict[int, str]]:
    rules, slugs = [], {}
    for framing_id, framing in enumerate(DATA["framing"], start=1):
        slugs[framing_id] = framing["slug"]
        rules += [TermRule(len(rules) + 1, framing_id, term) for term in framing["terms"]]
    return compile_matcher(rules), slugs


MATCHER, SLUGS = pack_matcher()


@pytest.mark.parametrize(
    "post",
    [pytest.param(p, id=f"{n}-{p['lang']}") for n, p in enumerate(DATA["post"])],
)
def test_quality_post_gets_exactly_its_framings(post: dict[str, Any]) -> None:
    found = {SLUGS[hit.framing_id] for hit in MATCHER.find(post["text"])}
    assert found == set(post["framings"])
