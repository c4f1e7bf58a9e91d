"""Framing names and terms as moderators type them, and framing packs (TOML)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bot.rules.matcher import TermError, check_term, term_key
from storage.framings import PackFraming

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
MAX_TERM_CHARS = 200
MAX_TERMS_PER_FRAMING = 500


class FramingError(ValueError):
    """A framing name, term or pack a moderator must fix; the message says how."""


def check_slug(slug: str) -> str:
    if not SLUG_RE.match(slug):
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
        cleaned = check_term(text, max_length=MAX_TERM_CHARS)
    except TermError as exc:
        raise FramingError(str(exc)) from None
    return CheckedTerm(cleaned, term_key(cleaned))


def default_pack_path() -> Path:
    return Path(str(resources.files("bot") / "packs" / "default.toml"))


def read_pack(path: Path) -> list[PackFraming]:
    """Parse and check a whole pack; FramingError names the framing, term and reason."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FramingError(f"cannot read pack {path}: {exc}") from None
    entries = data.get("framing")
    if not isinstance(entries, list) or not entries:
        raise FramingError(f"{path}: expected one or more [[framing]] tables")
    return [_pack_framing(entry, index) for index, entry in enumerate(entries, 1)]


def _pack_framing(entry: object, index: int) -> PackFraming:
    if not isinstance(entry, dict):
        raise FramingError(f"framing #{index}: expected a table")
    slug = check_slug(str(entry.get("slug", "")))
    terms = entry.get("terms", [])
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise FramingError(f"framing {slug}: terms must be a list of strings")
    if len(terms) > MAX_TERMS_PER_FRAMING:
        raise FramingError(f"framing {slug}: more than {MAX_TERMS_PER_FRAMING} terms")
    checked = []
    for term in terms:
        try:
            checked.append(check_new_term(term))
        except FramingError as exc:
            raise FramingError(f"framing {slug}, term {term[:60]!r}: {exc}") from None
    return PackFraming(
        slug=slug,
        title=str(entry.get("title") or slug),
        description=str(entry.get("description") or ""),
        terms=tuple((t.text, t.key) for t in checked),
    )
