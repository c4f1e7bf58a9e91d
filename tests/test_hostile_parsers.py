"""Arbitrary input through every parser of outside text: it parses or is refused clearly.

The term parser, the search query path (down to the reply it renders), the web-preview
parser and the export importer each get arbitrary Unicode (control characters, lone
surrogates, astral characters, bidi marks, huge lengths) and structures shaped like their
real input with hostile values. Each test is bounded to a few seconds.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from bot.framings import FramingError, check_new_term
from bot.importing import import_export
from bot.ingest import store_post
from bot.lemma_index import index_queued
from bot.rules.syntax import TermError, parse
from bot.rules.syntax import clean as clean_term
from bot.search import search_posts
from bot.search_query import SearchInputError
from bot.sources.export import open_export
from bot.sources.export_messages import MessageReader
from bot.sources.webpreview import PageKind, parse_page
from bot.telegram_text import render
from handlers.analysts import format_hit
from storage.backend import Backend
from storage.db import Database
from storage.lemma_index import LemmaIndexRepository
from storage.models import IncomingPost
from storage.posts import PostRepository
from storage.search import SearchRepository
from tests.telegram_html import check_message

BOUNDED = settings(max_examples=80, deadline=None, database=None)
# One database for all examples of a test: opening one per example would take most of the time.
SHARED_DB = settings(
    BOUNDED, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

_any_char = st.characters(codec=None, exclude_categories=())
_awkward = st.sampled_from(
    ["\x00", "\x1b", "\x9b", "\r\n", "\ud800", "\u202e", "\U0001f600", "<", "&", "\x02", "\x03",
     '"', "“", "«", "»", "(", ")", ",", "*", "-", ":", "^", "+", " ", "NEAR", "NEAR/3", "AND",
     "OR", "NOT", "re:", "жест", "доброй", "воли", "word", "9" * 30]
)  # fmt: skip
_text = st.lists(st.one_of(_any_char, _awkward), max_size=30).map("".join)
_huge = st.builds(lambda t, n: t * n, _text, st.integers(1, 2000))


# --- the term parser ---------------------------------------------------------------------

_POSITION = re.compile(r"position (\d+)")


@BOUNDED
@given(st.one_of(_text, _huge))
@example("(" * 150 + "a" + ")" * 49)  # a RecursionError through /watch before nesting was capped
def test_term_parser_parses_or_refuses_with_a_position(term: str) -> None:
    cleaned = clean_term(term)
    problem = ""
    try:
        parse(cleaned)
    except TermError as exc:
        problem = str(exc)
    for found in _POSITION.finditer(problem):
        assert 1 <= int(found.group(1)) <= len(cleaned) + 1, (cleaned, problem)
    try:
        checked = check_new_term(term)
    except FramingError as exc:
        problem = str(exc)
    else:
        assert checked.text and checked.key
        problem = "accepted"
    assert problem  # accepted, or a message saying what to change


# --- the search query path ---------------------------------------------------------------


async def _fill(db: Backend) -> None:
    texts = ["<" * 3000 + " word " + "&" * 10, "жест доброй воли \x00\x1b[31m \x02x\x03", "word"]
    # NUL in a text or a title: removed before storing, on both (storage/posts.py).
    for i, text in enumerate(texts, 1):
        post = IncomingPost(-1001, i, NOW, text, "T\x00<b>" * 500, "name")
        await store_post(PostRepository(db), post, NOW)
    await index_queued(LemmaIndexRepository(db), max_batches=1)  # search by both indexes
    await store_post(PostRepository(db), IncomingPost(-1001, 9, NOW, "word жест", "T"), NOW)


@SHARED_DB
@given(query=st.one_of(_text, _huge))
@example(query="\ud800")  # sqlite3 cannot encode it: it crashed the search
async def test_search_is_valid_fts5_or_refused_and_hits_render(any_db: Backend, query: str) -> None:
    """On SQLite and PostgreSQL (tests.backends.any_db): a valid MATCH or tsquery, or refused."""
    db = any_db
    if not await db.fetchval("SELECT count(*) FROM posts"):
        await _fill(db)
    try:
        hits = (await search_posts(SearchRepository(db), query, ZoneInfo("UTC"))).hits
    except SearchInputError as exc:
        hits, problem = [], str(exc)
        assert problem
    lines = [line for hit in hits for line in format_hit(hit, ZoneInfo("UTC"))]
    for message in render(lines):
        assert check_message(message) == ""


# --- the web-preview parser --------------------------------------------------------------


@st.composite
def _preview_pages(draw: st.DrawFn) -> str:
    blocks = []
    for _ in range(draw(st.integers(0, 4))):
        post = draw(st.sampled_from(["name/", "/", "", "name/x"])) + draw(
            st.one_of(st.integers(-5, 10**40).map(str), _text)
        )
        when = draw(st.sampled_from(["2026-11-25T10:00:00+00:00", "9999-12-31T23:59:59+14:00"]))
        body = draw(_text).replace("<", "&lt;") + draw(_text)
        blocks.append(
            f'<div class="tgme_widget_message" data-post="{post.replace(chr(34), "")}">'
            f'<div class="tgme_widget_message_text">{body}</div>'
            f'<span class="tgme_widget_message_views">{draw(_text)}</span>'
            '<a class="tgme_widget_message_date">'
            f'<time datetime="{draw(st.one_of(st.just(when), _text))}"></time></a></div>'
        )
    more = draw(st.one_of(st.integers(0, 10**40).map(str), _text)).replace('"', "")
    return f'<a class="tme_messages_more" data-before="{more}"></a>' + "".join(blocks)


@BOUNDED
@given(st.one_of(_preview_pages(), _text, _huge))
@example(  # int() refuses over 4300 digits: it crashed the parser
    f'<a class="tme_messages_more" data-before="{"9" * 5000}"></a><div class="tgme_widget_message"'
    f' data-post="name/{"9" * 5000}"><time datetime="2026-11-25T10:00:00+00:00"></time></div>'
)
def test_web_preview_parser_reads_any_page(page: str) -> None:
    parsed = parse_page(page, None)
    assert parsed.kind in PageKind
    assert all(0 < p.message_id < 2**53 for p in parsed.posts)
    assert parsed.older is None or 0 <= parsed.older < 2**53


# --- the export importer -----------------------------------------------------------------

_KEYS = ["id", "type", "date", "date_unixtime", "edited", "edited_unixtime", "text",
         "text_entities", "from", "author", "reply_to_message_id", "reply_to_peer_id",
         "forwarded_from", "media_type", "photo", "file", "name", "messages", "chats",
         "list"]  # fmt: skip
_json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(allow_nan=False), _text,
    st.sampled_from(["2026-11-25T10:00:00", "1700000000", "9" * 40, "channel1", "message"]),
)  # fmt: skip
_json = st.recursive(
    _json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(_KEYS), inner, max_size=6)
    ),
    max_leaves=20,
)


_usual_id = st.integers(1, 10**12)
_usual_date = st.one_of(  # some beyond the year 9999, where datetime ends
    st.integers(0, 2**34).map(str), st.sampled_from(["253402300800", "9" * 30, "9" * 5000])
)


_entities = st.lists(st.one_of(_text, st.fixed_dictionaries({"type": _text, "text": _text})))
_message = st.fixed_dictionaries(
    {"id": _usual_id, "type": st.just("message"), "date_unixtime": _usual_date},
    optional={
        **{k: _json_scalar for k in _KEYS if k not in ("id", "type", "date_unixtime")},
        "text": st.one_of(_text, _huge, _entities),
    },
)
# Built in the order Telegram Desktop writes a chat (its fields before its messages).
_chat = st.builds(
    lambda name, kind, chat_id, messages: {
        "name": name,
        "type": kind,
        "id": chat_id,
        "messages": messages,
    },
    st.one_of(_text, _json_scalar),
    st.sampled_from(["public_channel", "private_supergroup", "x"]),
    st.one_of(_usual_id, _usual_id, _json_scalar),
    st.lists(st.one_of(_message, _message, _json), max_size=5),
)
# Mostly exports shaped like real ones with hostile values, some anything at all.
_exports = st.one_of(
    _chat,
    _chat,
    _json,
    st.fixed_dictionaries({"chats": st.fixed_dictionaries({"list": st.lists(_chat, max_size=2)})}),
)


@SHARED_DB
@given(
    data=st.one_of(
        _exports.map(lambda d: json.dumps(d).encode()),
        _text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    )
)
@example(data=b'"\\ud800\\ud800\\udc00"')  # ijson raised UnicodeDecodeError
@example(data=b'{"type": "public_channel", "id": 1, "messages": [{"id": 1, "date_unixtime": "'
         + b"9" * 30 + b'"}]}')  # fmt: skip
async def test_export_importer_imports_or_says_why(
    db: Database, tmp_path: Path, data: bytes
) -> None:
    export = tmp_path / "result.json"
    export.write_bytes(data)
    with open_export(export) as source:
        report = await import_export(source, PostRepository(db), NOW, MessageReader(UTC))
    assert report.error is None or report.error.strip()
    event("refused" if report.error else "imported" if report.outcomes else "nothing to import")
    if report.error is None:
        assert sum(report.outcomes.values()) == sum(n for _, _, n in report.chats.values())
