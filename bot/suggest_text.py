"""/suggest's reply: the ranked NOT-terms and new terms as lines for the one renderer."""

from __future__ import annotations

import html

from bot.suggest import Suggestion, Suggestions
from bot.telegram_text import Line, Text


def suggestion_lines(
    slug: str, found: Suggestions, correct: int, wrong: int, unmatched: int, newest: int
) -> list[Line]:
    lines: list[Line] = [
        [f"<b>Suggestions for {html.escape(slug)}</b> from {correct} correct and {wrong} "
         f"rejected matches, against {unmatched} stored posts it does not match (the newest "
         f"{newest} posts read)."],
        [""],
        ["<b>NOT-terms</b> (more common in rejected matches than in correct ones): add "
         "<code>AND NOT &lt;phrase&gt;</code> to the term that catches them (/unwatch, /watch)."],
    ]  # fmt: skip
    lines += _ranked(found.not_terms, "rejected", "correct", correct > 0)
    lines += [
        [""],
        ["<b>New terms</b> (more common in correct matches than in posts not matched yet); "
         "a button adds one as /watch does:"],
    ]  # fmt: skip
    lines += _ranked(found.new_terms, "correct", "unmatched", unmatched > 0)
    return lines


def _ranked(found: list[Suggestion], focus: str, other: str, ready: bool) -> list[Line]:
    if not found:
        why = "no phrase stands out yet" if ready else f"no {other} posts to compare with yet"
        return [[f"(none: {why}; /review more matches)"]]
    lines: list[Line] = []
    for s in found:
        line: list[str | Text] = ["• <b>", Text(s.phrase), f"</b> · z = {s.z:.2f} · in "
                                  f"{s.focus} {focus}, {s.other} {other}"]  # fmt: skip
        if s.example:
            line.append(f' · <a href="{html.escape(s.example)}">example</a>')
        lines.append(line)
    return lines
