"""The /search language: words found in every form, "exact forms", prefix*, OR, NOT, ( ),
and filters (channel:@name framing:slug since:DATE until:DATE watchdog:no).

parse_search() reads what an analyst typed into a Query (a tree of words plus filters) or
raises SearchInputError with a message saying what to write. The tree is rendered, never
the user's text, as FTS5 MATCH expressions: every word becomes a double-quoted token, so
FTS5 syntax in the input (NEAR(, ^, column filters, stray quotes or stars) is only words.
- lemma_match: for post_lemmas (bot/search_lemmas.py): bare words by lemma key, quoted
  words and prefixes by form;
- exact_match: for posts_fts, the same words by form, for posts not yet lemma-indexed.
On PostgreSQL the same tree is rendered as tsqueries instead (render_tsquery): for
post_lemmas.search_tsv (forms weighted A, lemma keys B: storage/pg/migrations/0007) and for
posts.search_tsv; `<->` for phrases, `:*` for prefixes, `|`, `&`, `!`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from bot.rules.normalize import normalize_words
from bot.rules.scanner import split_words
from bot.search_lemmas import forms_keys, token

MAX_QUERY_LENGTH = 500
MAX_WORDS = 32
MAX_PHRASE_VARIANTS = 64  # a bare "a.b" phrase is matched in every lemma-key combination
Kind = Literal["lemma", "exact", "prefix"]
Watchdog = Literal["any", "no", "only"]
FILTER_HELP = (
    "Filters: channel:@name, framing:slug, since:2024-05-01, until:2024-05-31, "
    "watchdog:no (leave out watchdog channels) or watchdog:only."
)


class SearchInputError(ValueError):
    """The query cannot be read; the message says what to write instead."""


class SearchTooLongError(SearchInputError):
    """The query is longer than MAX_QUERY_LENGTH characters."""


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words in a row (one word is a phrase of one); kind says how they are matched."""

    words: tuple[str, ...]  # normalised
    kind: Kind


@dataclass(frozen=True, slots=True)
class AllOf:
    positives: tuple[Node, ...]
    negatives: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class AnyOf:
    options: tuple[Node, ...]


Node = Phrase | AllOf | AnyOf


@dataclass(frozen=True, slots=True)
class Filters:
    channel: str | None = None  # a username (lower case, no @) or a numeric chat id
    framing: str | None = None  # a framing slug
    since: date | None = None
    until: date | None = None  # inclusive
    watchdog: Watchdog = "any"


@dataclass(frozen=True, slots=True)
class Query:
    root: Node
    filters: Filters = field(default_factory=Filters)


_TOKEN = re.compile(r'\s*(?:(")|(\()|(\))|([^\s"()]+))')
_FILTER = re.compile(r"^([A-Za-z]+):(.*)$", re.DOTALL)
_FILTER_NAMES = ("channel", "framing", "since", "until", "watchdog")
_NOT_FILTERS = ("http", "https", "tg")  # links are words, not filters
_USERNAME = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{3,31})$")
_CHAT_ID = re.compile(r"^-?[0-9]{1,16}$")  # ASCII digits, within SQLite's integers
_FIRST_DAY, _LAST_DAY = date(1970, 1, 2), date(9998, 12, 31)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def parse_search(text: str) -> Query:
    """The query an analyst typed, or SearchInputError saying what to write."""
    if len(text) > MAX_QUERY_LENGTH:
        raise SearchTooLongError(f"too long ({len(text)} characters; at most {MAX_QUERY_LENGTH})")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise SearchInputError("The search holds a character that is not valid text.")
    items, filters = _lex(text)
    parser = _Parser(items)
    root = parser.expression()
    if parser.pos < len(items):
        raise SearchInputError("A closing parenthesis “)” has no opening one.")
    if root is None:
        raise SearchInputError("Write at least one word to search for (filters narrow it down).")
    if sum(1 for _ in phrases(root)) > MAX_WORDS:
        raise SearchInputError(f"That search has too many words (at most {MAX_WORDS}).")
    return Query(root, filters)


Item = tuple[str, str | Phrase]  # ("op", "OR"/"NOT"/"AND"/"("/")") or ("phrase", Phrase)


def _lex(text: str) -> tuple[list[Item], Filters]:
    items: list[Item] = []
    found: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # only trailing spaces are left
            break
        pos = match.end()
        quote, opening, closing, bare = match.groups()
        if quote:
            end = text.find('"', pos)
            if end < 0:
                raise SearchInputError('A double quote is not closed: write “"word"”.')
            star = text.startswith("*", end + 1)
            words = _words(text[pos:end])
            pos = end + 1 + star
            if words:
                items.append(("phrase", Phrase(words, "prefix" if star else "exact")))
        elif opening or closing:
            items.append(("op", opening or closing))
        elif bare in ("OR", "NOT", "AND"):
            items.append(("op", bare))
        elif (name := _filter_name(bare)) is not None:
            if name in found:
                raise SearchInputError(f"The filter {name}: is given twice.")
            found[name] = bare.split(":", 1)[1]
        elif words := _words(bare):
            kind: Kind = "prefix" if bare.endswith("*") else "lemma"
            items.append(("phrase", Phrase(words, kind)))
    return items, _filters(found)


def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in normalize_words(split_words(text).words) if token(w))


def _filter_name(bare: str) -> str | None:
    match = _FILTER.match(bare)
    if match is None or match.group(1).lower() in _NOT_FILTERS:
        return None
    name = match.group(1).lower()
    if name not in _FILTER_NAMES:
        raise SearchInputError(f"Unknown filter “{match.group(1)}:”. {FILTER_HELP}")
    if not match.group(2):
        raise SearchInputError(f"The filter {name}: needs a value. {FILTER_HELP}")
    return name


def _filters(found: dict[str, str]) -> Filters:
    channel = found.get("channel")
    if channel is not None:
        channel = _channel(channel)
    framing = found.get("framing")
    if framing is not None and not _SLUG.match(framing.lower()):
        raise SearchInputError(
            "framing: takes a framing's slug (see /framings), e.g. framing:nazis."
        )
    since, until = _date(found, "since"), _date(found, "until")
    if since and until and since > until:
        raise SearchInputError("since: is after until:; swap the two dates.")
    watchdog = found.get("watchdog", "any").lower()
    if watchdog not in ("any", "yes", "no", "only"):
        raise SearchInputError("watchdog: takes no (leave them out) or only.")
    return Filters(
        channel,
        framing.lower() if framing else None,
        since,
        until,
        "any" if watchdog in ("any", "yes") else watchdog,  # type: ignore[arg-type]
    )


def _channel(value: str) -> str:
    value = value.removeprefix("https://").removeprefix("t.me/")
    match = _USERNAME.match(value)
    if match:
        return match.group(1).lower()
    if _CHAT_ID.match(value):
        return value
    raise SearchInputError("channel: takes a channel's @username, e.g. channel:@rian_ru.")


def _date(found: dict[str, str], name: str) -> date | None:
    value = found.get(name)
    if value is None:
        return None
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            day = date.fromisoformat(value)
            if _FIRST_DAY <= day <= _LAST_DAY:  # a day later, in any zone, is still a date
                return day
    except ValueError:
        pass
    raise SearchInputError(f"{name}: takes a date as YYYY-MM-DD, e.g. {name}:2024-05-01.")


class _Parser:
    """expression := group (OR group)*; group := (NOT? atom | AND)+; atom := phrase | ( expr )."""

    def __init__(self, items: list[Item]) -> None:
        self.items = items
        self.pos = 0

    def _peek(self) -> Item | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def expression(self) -> Node | None:
        options = [self._group()]
        while self._peek() == ("op", "OR"):
            self.pos += 1
            options.append(self._group())
        if len(options) > 1 and any(o is None for o in options):
            raise SearchInputError(
                "OR needs words on both sides, e.g. отступление OR перегруппировка."
            )
        present = [o for o in options if o is not None]
        return None if not present else present[0] if len(present) == 1 else AnyOf(tuple(present))

    def _group(self) -> Node | None:
        positives: list[Node] = []
        negatives: list[Node] = []
        while (item := self._peek()) is not None and item not in (("op", "OR"), ("op", ")")):
            self.pos += 1
            if item == ("op", "AND"):
                continue
            if item == ("op", "NOT"):
                atom = self._atom()
                if atom is None:
                    raise SearchInputError("NOT needs a word after it, e.g. нацисты NOT киев.")
                negatives.append(atom)
                continue
            self.pos -= 1
            atom = self._atom()
            if atom is not None:
                positives.append(atom)
        if negatives and not positives:
            raise SearchInputError("NOT needs words before it too, e.g. нацисты NOT киев.")
        if not positives:
            return None
        if len(positives) == 1 and not negatives:
            return positives[0]
        return AllOf(tuple(positives), tuple(negatives))

    def _atom(self) -> Node | None:
        item = self._peek()
        if item is None or item in (("op", "OR"), ("op", ")"), ("op", "NOT"), ("op", "AND")):
            return None
        self.pos += 1
        if item == ("op", "("):
            inner = self.expression()
            if self._peek() != ("op", ")"):
                raise SearchInputError("A parenthesis “(” is not closed.")
            self.pos += 1
            return inner
        value = item[1]
        assert isinstance(value, Phrase)
        return value


def phrases(node: Node | None, positive: bool = True) -> list[tuple[Phrase, bool]]:
    if node is None:
        return []
    if isinstance(node, Phrase):
        return [(node, positive)]
    if isinstance(node, AnyOf):
        return [p for o in node.options for p in phrases(o, positive)]
    return [p for n in node.positives for p in phrases(n, positive)] + [
        p for n in node.negatives for p in phrases(n, False)
    ]


def _quoted(words: tuple[str, ...] | list[str]) -> str:
    return '"' + " ".join(words).replace('"', '""') + '"'


def _lemma_phrase(phrase: Phrase) -> str:
    tokens = tuple(token(w) for w in phrase.words)
    if phrase.kind == "exact":
        return f"forms : {_quoted(tokens)}"
    if phrase.kind == "prefix":
        return f"forms : {_quoted(tokens)}*"
    options = [forms_keys(word) for word in phrase.words]
    total = 1
    for keys in options:
        total *= len(keys)
    if total > MAX_PHRASE_VARIANTS:
        return f"forms : {_quoted(tokens)}"
    variants = [_quoted(combo) for combo in itertools.product(*options)]
    return "lemmas : " + (variants[0] if len(variants) == 1 else f"({' OR '.join(variants)})")


def _exact_phrase(phrase: Phrase) -> str:
    # posts_fts reads the raw text with unicode61: an apostrophe separates words there.
    words = [part for w in phrase.words for part in w.split("'") if part]
    return _quoted(words) + ("*" if phrase.kind == "prefix" else "")


def render(node: Node, *, exact: bool = False) -> str:
    """The FTS5 MATCH expression of a tree: for post_lemmas, or (exact) for posts_fts."""
    if isinstance(node, Phrase):
        return _exact_phrase(node) if exact else _lemma_phrase(node)
    if isinstance(node, AnyOf):
        return "(" + " OR ".join(render(o, exact=exact) for o in node.options) + ")"
    text = "(" + " AND ".join(render(p, exact=exact) for p in node.positives) + ")"
    for negative in node.negatives:
        text = f"({text} NOT {render(negative, exact=exact)})"
    return text


# --- PostgreSQL: the same tree as tsqueries -------------------------------------------------
# Lexemes are quoted and cast (`?::tsquery`, never to_tsquery): the tokens are taken as they
# are, as FTS5 takes a quoted phrase. In post_lemmas.search_tsv the forms carry weight A and
# the lemma keys weight B, so `'x':A` is FTS5's `forms : x` and `'x':B` its `lemmas : x`.
FORMS_WEIGHT, LEMMAS_WEIGHT = "A", "B"


def _lexeme(text: str, label: str = "") -> str:
    escaped = text.replace("\\", "\\\\").replace("'", "''")
    return f"'{escaped}'" + (f":{label}" if label else "")


def _ts_phrase(tokens: Sequence[str], weight: str, prefix: bool = False) -> str:
    """Tokens in a row; the last one a prefix if asked (as FTS5's `"a b"*`)."""
    if not tokens:  # FTS5's empty phrase "" matches nothing; so does this (no such token)
        tokens = ["\x01"]
    last = len(tokens) - 1
    parts = [
        _lexeme(t, ("*" if prefix and i == last else "") + weight) for i, t in enumerate(tokens)
    ]
    return parts[0] if len(parts) == 1 else "(" + " <-> ".join(parts) + ")"


def _lemma_tsphrase(phrase: Phrase) -> str:
    tokens = [token(w) for w in phrase.words]
    if phrase.kind != "lemma":
        return _ts_phrase(tokens, FORMS_WEIGHT, prefix=phrase.kind == "prefix")
    options = [forms_keys(word) for word in phrase.words]
    total = 1
    for keys in options:
        total *= len(keys)
    if total > MAX_PHRASE_VARIANTS:
        return _ts_phrase(tokens, FORMS_WEIGHT)
    variants = [_ts_phrase(combo, LEMMAS_WEIGHT) for combo in itertools.product(*options)]
    return variants[0] if len(variants) == 1 else "(" + " | ".join(variants) + ")"


def _exact_tsphrase(phrase: Phrase) -> str:
    words = [part for w in phrase.words for part in w.split("'") if part]
    return _ts_phrase(words, "", prefix=phrase.kind == "prefix")


def render_tsquery(node: Node, *, exact: bool = False) -> str:
    """render() for PostgreSQL: the tsquery text of a tree, for post_lemmas.search_tsv, or
    (exact) for posts.search_tsv. Finds the posts render()'s expression finds in FTS5."""
    if isinstance(node, Phrase):
        return _exact_tsphrase(node) if exact else _lemma_tsphrase(node)
    if isinstance(node, AnyOf):
        return "(" + " | ".join(render_tsquery(o, exact=exact) for o in node.options) + ")"
    parts = [render_tsquery(p, exact=exact) for p in node.positives]
    parts += ["!" + render_tsquery(n, exact=exact) for n in node.negatives]
    return "(" + " & ".join(parts) + ")"


def lemma_query(text: str) -> str:
    """The FTS5 MATCH expression on post_lemmas for what a user typed (filters ignored);
    "" when there are no words. Pure; raises SearchInputError for a query it cannot read."""
    root = parse_search(text).root
    return "" if root is None else render(root)
