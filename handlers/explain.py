"""/explain: which framings and terms match a text, and why (the words found, their lemmas)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from telegram import Update

from bot.context import Context, services_of
from bot.roles import Role
from bot.rules import FoundWord, TermExplanation, detect_language
from bot.rules import explain as explain_text
from bot.telegram_text import Line, Piece, Text
from handlers.common import command_args, reply, reply_chunks, titled
from handlers.registry import Command

MAX_EXPLAIN_CHARS = 4096
MISSES_SHOWN = 10
WORDS_SHOWN = 12
USAGE = (
    "Usage: <code>/explain &lt;text&gt;</code>, or reply <code>/explain</code> to a "
    "forwarded post.\n"
    "I say which framings and terms match the text and why: the words found and their "
    "lemmas, and for terms that do not match, the closest miss."
)


def text_to_explain(update: Update) -> str | None:
    """The text after /explain, else the text or caption of the message replied to."""
    args = command_args(update, 1)
    if args:
        return args[0]
    message = update.effective_message
    replied = message.reply_to_message if message else None
    if replied is None:
        return None
    return (replied.text or replied.caption or "").strip() or None


async def explain(update: Update, context: Context) -> None:
    text = text_to_explain(update)
    if text is None:
        await reply(update, USAGE)
        return
    if len(text) > MAX_EXPLAIN_CHARS:
        await reply(
            update,
            f"The text is {len(text)} characters long; I explain at most "
            f"{MAX_EXPLAIN_CHARS}. Send a shorter part.\n\n{USAGE}",
        )
        return
    services = services_of(context)
    compiled = await services.rules.current(services.framings)
    if not compiled.rules:
        await reply(update, "There are no framings yet, so nothing can match. /watch adds one.")
        return
    names = await services.framings.names()
    # Matching and lemmatising are CPU work: keep the bot answering meanwhile.
    explained = await asyncio.to_thread(explain_text, text, list(compiled.rules), compiled.matcher)
    language = detect_language(text)
    await reply_chunks(update, explanation_lines(text, language, explained, names))


def explanation_lines(
    text: str,
    language: object,
    explained: Sequence[TermExplanation],
    names: dict[int, tuple[str, str]],
) -> list[Line]:
    """The reply's lines of markup and user text (the renderer escapes and fits them)."""
    matched = [e for e in explained if e.matched]
    framings = sorted({e.framing_id for e in matched}, key=lambda f: names.get(f, ("?",))[0])
    lines: list[Line] = [
        [
            f"<b>Explained</b> a text of {len(text)} characters (language: ",
            Text(str(language)),
            ")",
        ],
        [
            f"{len(framings)} framings match, with {len(matched)} of {len(explained)} terms."
            if matched
            else f"No framing matches: none of the {len(explained)} terms is found."
        ],
    ]
    for framing_id in framings:
        slug, title = names.get(framing_id, (f"#{framing_id}", ""))
        lines.append(["\n✅ <b>", Text(slug), "</b>", *titled(slug, title)])
        lines += [_matched_line(e) for e in matched if e.framing_id == framing_id]
    misses = [e for e in explained if not e.matched and e.closest_miss]
    if misses:
        lines.append(["\n<b>Closest misses</b> (terms that do not match):"])
        lines += [_miss_line(e, names) for e in misses[:MISSES_SHOWN]]
        if len(misses) > MISSES_SHOWN:
            lines.append([f"…and {len(misses) - MISSES_SHOWN} more."])
    return lines


def _matched_line(e: TermExplanation) -> Line:
    words: list[Piece] = []
    for index, word in enumerate(e.found[:WORDS_SHOWN]):
        words += [": " if index == 0 else " · ", *_found_word(word)]
    more = f" …and {len(e.found) - WORDS_SHOWN} more" if len(e.found) > WORDS_SHOWN else ""
    return ["• “", Text(e.text), "”", *words, more]


def _found_word(word: FoundWord) -> list[Piece]:
    shown: list[Piece] = ["<i>", Text(_short(word.word, 40)), "</i>"]
    lemmas = [lemma for lemma in word.lemmas if lemma]
    if not lemmas:
        return shown
    return [*shown, " → ", Text(_short(" / ".join(lemmas[:4]), 60))]


def _miss_line(e: TermExplanation, names: dict[int, tuple[str, str]]) -> Line:
    slug = names.get(e.framing_id, (f"#{e.framing_id}", ""))[0]
    miss = _short(str(e.closest_miss), 200)
    return ["• ", Text(slug), " “", Text(e.text), "”: ", Text(miss)]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


COMMANDS = [
    Command(
        ("explain",),
        explain,
        Role.ANALYST,
        "/explain &lt;text&gt;",
        "which framings and terms match a text, and why (or reply it to a forwarded post)",
    ),
]
