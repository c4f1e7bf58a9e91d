"""Search by meaning: what /search and `framewatch search` run.

parse (bot/search_query.py) -> resolve the filters' names -> storage finds the posts ->
a snippet of each post around its first matched word, the matched words marked whatever
form they have in the post (found again by lemmatising the few posts shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.rules.normalize import normalize_words
from bot.rules.scanner import split_words
from bot.search_lemmas import JOIN, forms_keys, known_forms, lemma_key, post_mode, token
from bot.search_query import (
    Node,
    Query,
    SearchInputError,
    parse_search,
    phrases,
    render,
    render_tsquery,
)
from storage.lemma_index import LemmaProgress
from storage.models import SearchHit
from storage.search import HIGHLIGHT_END, HIGHLIGHT_START, FoundPost, SearchRepository, SearchSpec

STEM = 3  # letters a post word shares with a key's lemma to be lemmatised for a snippet
SNIPPET_BEFORE = 6  # words shown before the first matched word
SNIPPET_WORDS = 24  # words shown in all
MAX_LIMIT = 1000
BACKLOG_MIN = 100  # posts queued for the lemma index before results say how far it is
SNIPPET_GAP = 40  # characters kept of the text between two words (links, emoji...)


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: list[SearchHit]
    progress: LemmaProgress | None  # the lemma index is still being built


async def search_posts(
    repo: SearchRepository,
    text: str,
    zone: ZoneInfo,
    limit: int = 10,
) -> SearchResult:
    """The posts a user's search finds; SearchInputError says what to write instead."""
    query = parse_search(text)
    spec = await _spec(repo, query, zone, max(1, min(limit, MAX_LIMIT)))
    found = await repo.find(spec)
    light = highlight_of(query.root)
    hits = [_hit(post, light) for post in found]
    return SearchResult(hits, backlog(await repo.index_progress()))


def backlog(progress: LemmaProgress | None) -> LemmaProgress | None:
    """The progress worth telling: a backlog (a database from before the lemma index), not
    the few posts of the last minutes that the next scan indexes."""
    if progress is None or progress.queued <= max(BACKLOG_MIN, progress.stored // 100):
        return None
    return progress


async def _spec(repo: SearchRepository, query: Query, zone: ZoneInfo, limit: int) -> SearchSpec:
    f = query.filters
    chat_id = framing_id = None
    if f.channel is not None:
        chat_id = await repo.channel_id(f.channel)
        if chat_id is None:
            raise SearchInputError(
                f"No stored channel is @{f.channel}: see /channels for the channels watched."
            )
    if f.framing is not None:
        framing_id = await repo.framing_id(f.framing)
        if framing_id is None:
            raise SearchInputError(f"No framing has the slug {f.framing}: see /framings.")
    start = datetime.combine(f.since, time(), zone) if f.since else None
    end = datetime.combine(f.until + timedelta(days=1), time(), zone) if f.until else None
    return SearchSpec(
        render(query.root),
        render(query.root, exact=True),
        chat_id,
        framing_id,
        start,
        end,
        f.watchdog,
        limit,
        render_tsquery(query.root),
        render_tsquery(query.root, exact=True),
    )


def _hit(post: FoundPost, light: Highlight) -> SearchHit:
    return SearchHit(
        chat_id=post.chat_id,
        channel_username=post.channel_username,
        channel_title=post.channel_title,
        message_id=post.message_id,
        posted_at=post.posted_at,
        snippet=snippet(post.text, light),
        watchdog=post.watchdog,
        framings=post.framings,
    )


@dataclass(frozen=True, slots=True)
class Highlight:
    """What marks a post word as matched in a snippet: its lemma key, form, or prefix.

    A word in known (the forms of the query words' paradigms) is marked without being
    lemmatised; other words are lemmatised only if they start like a key's lemma (stems):
    lemmatising a word pymorphy3 must guess costs ~0.3 ms, and a snippet has dozens.
    """

    keys: frozenset[str]
    forms: frozenset[str]
    prefixes: tuple[str, ...]
    known: frozenset[str] = frozenset()
    stems: frozenset[str] = frozenset()


def highlight_of(root: Node | None) -> Highlight:
    """What to mark in the snippets of a query's hits (words under NOT are not marked)."""
    keys: set[str] = set()
    forms: set[str] = set()
    prefixes: list[str] = []
    known: set[str] = set()
    for phrase, positive in phrases(root):
        if not positive:
            continue
        tokens = [token(w) for w in phrase.words]
        if phrase.kind == "lemma":
            keys.update(key for word in phrase.words for key in forms_keys(word))
            known.update(form for word in phrase.words for form in known_forms(word))
            continue
        if phrase.kind == "prefix":
            forms.update(tokens[:-1])
            prefixes.append(tokens[-1])
        else:
            forms.update(tokens)
    stems = {lemma[:STEM] for key in keys for lemma in key.split(JOIN)}
    return Highlight(
        frozenset(keys), frozenset(forms), tuple(prefixes), frozenset(known), frozenset(stems)
    )


def snippet(text: str, light: Highlight) -> str:
    """Some words of text around the first matched one, matched words between markers."""
    words, bounds = split_words(text)
    if not words:
        return text[: SNIPPET_GAP * 5]
    norms = normalize_words(words)
    mode = post_mode(text)
    marked = [_matches(norm, mode, light) for norm in norms]
    first = marked.index(True) if True in marked else 0
    begin = max(0, first - SNIPPET_BEFORE)
    end = min(len(words), begin + SNIPPET_WORDS)
    parts = ["…" if begin > 0 else text[: bounds[0]][-SNIPPET_GAP:]]
    for index in range(begin, end):
        start, stop = bounds[2 * index], bounds[2 * index + 1]
        if index > begin:
            parts.append(text[bounds[2 * index - 1] : start][:SNIPPET_GAP])
        word = text[start:stop]
        parts.append(f"{HIGHLIGHT_START}{word}{HIGHLIGHT_END}" if marked[index] else word)
    parts.append("…" if end < len(words) else text[bounds[2 * end - 1] :][:SNIPPET_GAP])
    return "".join(parts)


def _matches(norm: str, mode: str, light: Highlight) -> bool:
    form = token(norm)
    if not form:
        return False
    if form in light.forms or norm in light.known:
        return True
    if any(form.startswith(p) for p in light.prefixes):
        return True
    # lemma_key() is cached; only words starting like a key's lemma can share one.
    return form[:STEM] in light.stems and lemma_key(mode, norm) in light.keys
