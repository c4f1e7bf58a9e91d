"""Framing names and terms as moderators type them, and framing packs (TOML).

A pack is a TOML file of [[framing]] tables, each with `slug`, `title`, `description` and
`terms = [...]`. A pack is checked as a whole before anything is imported: every problem is
reported at once (framing, term and reason), and a pack with any problem imports nothing.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from bot.rules import TermError, check_term, term_key
from bot.telegram_text import Line, Text
from storage.framings import MAX_TERMS_PER_FRAMING, FramingRepository
from storage.packs import PackFraming, PackImport
from storage.rule_changes import TermLimitError

SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")  # fullmatch: $ allows "x\n"
PACK_KEYS = ("slug", "title", "description", "terms")
# A pack is a few hundred framings of short terms; these bound what a hostile file costs.
MAX_PACK_BYTES = 4_000_000
MAX_PACK_DEPTH = 16  # a pack nests 3 levels; tomllib recurses once per level


class FramingError(ValueError):
    """A framing name, term or pack a moderator must fix; the message says how."""


class PackError(FramingError):
    """A pack that cannot be imported; `problems` lists every reason, one line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problem" + ("s" if len(problems) > 1 else "")
        super().__init__(
            f"{source}: {count}, nothing was imported:\n" + "\n".join(f"  {p}" for p in problems)
        )


def check_slug(slug: str) -> str:
    if not SLUG_RE.fullmatch(slug):
        shown = slug if len(slug) <= 70 else slug[:67] + "..."
        raise FramingError(
            f"'{shown}' is not a valid framing name: use 1-64 lowercase letters a-z, digits "
            "and dashes, e.g. goodwill-gesture"
        )
    return slug


@dataclass(frozen=True, slots=True)
class CheckedTerm:
    text: str
    key: str


def check_new_term(text: str) -> CheckedTerm:
    try:
        cleaned = check_term(text)
    except TermError as exc:
        raise FramingError(str(exc)) from None
    return CheckedTerm(cleaned, term_key(cleaned))


async def add_term(
    framings: FramingRepository,
    slug: str,
    term: CheckedTerm,
    user_id: int | None,
    now: datetime,
    via: str = "/watch",
) -> Line:
    """Add a checked term (audited, recorded under a new rules version, rescanned in the
    background): the one path of /watch and of /suggest's buttons. Returns the reply."""
    try:
        result = await framings.add_term(slug, term.text, term.key, user_id, now, via=via)
    except TermLimitError as exc:
        return [
            f"{slug} already has {exc.limit} terms, the most allowed: "
            "remove some with /unwatch first."
        ]
    if not result.term_added:
        return [f"{slug} already has the term “", Text(term.text), "”; nothing changed."]
    created = "New framing " if result.framing_created else "Framing "
    return [
        f"{created}<b>{slug}</b>: added “",
        Text(term.text),
        f"” (rules version {result.version}). Stored posts are rescanned for it in the "
        "background; /framings shows the progress and the counts.",
    ]


def default_pack_path() -> Path:
    return Path(str(resources.files("bot") / "packs" / "default.toml"))


# --- reading packs ----------------------------------------------------------------------


def read_pack(path: Path) -> list[PackFraming]:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the open forever
            raise PackError(str(path), ["not a regular file: give a .toml file"])
        with path.open("rb") as file:
            data = file.read(MAX_PACK_BYTES + 1)
        text = data.decode("utf-8-sig")  # tolerate a byte-order mark
    except OSError as exc:
        raise PackError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise PackError(
            str(path), [f"not UTF-8 text (byte {exc.start}): save the pack as UTF-8"]
        ) from None
    if len(data) > MAX_PACK_BYTES:
        raise PackError(str(path), [f"larger than {MAX_PACK_BYTES // 1_000_000} MB: split it"])
    return parse_pack(text, str(path))


def parse_pack(text: str, source: str) -> list[PackFraming]:
    """Every framing of the pack, checked; PackError lists every problem found."""
    if (depth := _nesting(text)) > MAX_PACK_DEPTH:
        raise PackError(
            source, [f"arrays or tables nested {depth} deep (at most {MAX_PACK_DEPTH})"]
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PackError(source, [f"malformed TOML: {_toml_problem(exc)}"]) from None
    except RecursionError:  # nesting _nesting() did not see, e.g. inside a broken string
        raise PackError(source, [f"nested too deep (at most {MAX_PACK_DEPTH} levels)"]) from None
    problems = [
        f"unknown top-level key {key!r}: a pack has only [[framing]] tables"
        for key in data
        if key != "framing"
    ]
    entries = data.get("framing")
    if not isinstance(entries, list) or not entries:
        problems.append(
            "no [[framing]] tables: write each framing as a [[framing]] table with "
            "slug, title, description and terms = [...]"
        )
        raise PackError(source, problems)
    framings: list[PackFraming] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(entries, 1):
        framing = _check_framing(entry, index, problems)
        if framing is None:
            continue
        if framing.slug in first_index:
            problems.append(
                f"framing #{index} ({framing.slug}): the slug is also used by framing "
                f"#{first_index[framing.slug]}; merge their terms into one"
            )
            continue
        first_index[framing.slug] = index
        framings.append(framing)
    if problems:
        raise PackError(source, problems)
    return framings


_STRINGS_AND_COMMENTS = re.compile(
    r'''"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|#[^\n]*''',
    re.DOTALL,
)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def _nesting(text: str) -> int:
    """How deep [ and { nest outside strings and comments, an upper bound of tomllib's
    recursion: deep nesting would raise RecursionError (a traceback) inside tomllib."""
    depth = deepest = 0
    for char in _NOT_BRACKETS.sub("", _STRINGS_AND_COMMENTS.sub("", text)):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
    return deepest


def _toml_problem(exc: tomllib.TOMLDecodeError) -> str:
    """tomllib's message with its "(at line 3, column 7)" moved to the front."""
    message = str(exc)
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message, re.DOTALL)
    if found:
        return f"line {found[2]}, column {found[3]}: {found[1]}"
    at_end = re.fullmatch(r"(.*) \(at end of document\)", message, re.DOTALL)
    if at_end:
        return f"at the end of the file: {at_end[1]} (is a ] or a quote missing?)"
    return message


def _check_framing(entry: object, index: int, problems: list[str]) -> PackFraming | None:
    if not isinstance(entry, dict):
        problems.append(f"framing #{index}: expected a [[framing]] table")
        return None
    before = len(problems)
    raw_slug = entry.get("slug")
    label = f"framing #{index}"
    if not isinstance(raw_slug, str):
        problems.append(f'{label}: slug must be a string, e.g. slug = "goodwill-gesture"')
    else:
        try:
            label = check_slug(raw_slug)
        except FramingError as exc:
            problems.append(f"{label}: {exc}")
    problems += [
        f"{label}: unknown key {key!r} (a framing has {', '.join(PACK_KEYS)})"
        for key in entry
        if key not in PACK_KEYS
    ]
    title = _optional_text(entry, "title", label, problems)
    description = _optional_text(entry, "description", label, problems)
    terms = _check_terms(entry.get("terms"), label, problems)
    if len(problems) > before or terms is None:
        return None
    return PackFraming(label, title, description, terms)


def _optional_text(entry: dict[str, Any], key: str, label: str, problems: list[str]) -> str | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        problems.append(f"{label}: {key} must be a string")
        return None
    return value


def _check_terms(
    terms: object, label: str, problems: list[str]
) -> tuple[tuple[str, str], ...] | None:
    if terms is None:
        return ()
    if not isinstance(terms, list):
        problems.append(f'{label}: terms must be a list of strings, e.g. terms = ["a", "b"]')
        return None
    if len(terms) > MAX_TERMS_PER_FRAMING:
        problems.append(
            f"{label}: {len(terms)} terms, more than the {MAX_TERMS_PER_FRAMING} allowed"
        )
        return None
    checked: list[tuple[str, str]] = []
    for number, term in enumerate(terms, 1):
        if not isinstance(term, str):
            problems.append(f"{label}, term #{number}: must be a string, not {term!r}")
            continue
        try:
            good = check_new_term(term)
        except FramingError as exc:
            shown = term if len(term) <= 80 else term[:77] + "..."
            problems.append(f"{label}, term {shown!r}: {exc}")
            continue
        checked.append((good.text, good.key))
    return tuple(checked)


async def import_pack(
    framings: FramingRepository, path: Path, actor: int | None, now: datetime
) -> PackImport:
    """Check the whole pack, then add or update its framings in one transaction.

    Terms the framings have and the pack does not list are kept. PackError, or
    storage.rule_changes.TermLimitError, when nothing was imported.
    """
    pack = read_pack(path)
    return await framings.import_pack(
        pack, actor, now, via=f"pack {path.name}", max_terms=MAX_TERMS_PER_FRAMING
    )


# --- writing packs ----------------------------------------------------------------------


def write_pack(framings: list[PackFraming], header: str) -> str:
    """TOML text that parse_pack reads back to the same framings."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for framing in framings:
        lines += ["", "[[framing]]", f"slug = {toml_string(framing.slug)}"]
        lines.append(f"title = {toml_string(framing.title or framing.slug)}")
        lines.append(f"description = {toml_string(framing.description or '')}")
        if not framing.terms:
            lines.append("terms = []")
            continue
        lines.append("terms = [")
        lines += [f"    {toml_string(text)}," for text, _key in framing.terms]
        lines.append("]")
    return "\n".join(lines) + "\n"


_TOML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n"}
_TOML_ESCAPES |= {"\f": "\\f", "\r": "\\r"}


def toml_string(value: str) -> str:
    """A TOML basic string: backslash, quote and control characters escaped, the rest as is."""
    out = []
    for char in value:
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
