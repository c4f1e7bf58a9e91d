"""Frozen dataclasses returned by the repositories (never raw rows), and the named tuples a
bulk scan makes by the hundred thousand (ScanMark, MatchRow)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal, NamedTuple, Protocol

# Whether a channel's posts count (see migration 0006): only 'approved' ones do.
Approval = Literal["approved", "pending", "rejected"]

# The most characters of a post's text that are stored, whatever its source.
MAX_POST_CHARS = 100_000  # Telegram allows 4096 (text) or 1024 (caption); this is a guard


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One match of a framing in a stored post, with what the digest shows of it."""

    framing_slug: str
    framing_title: str
    chat_id: int
    channel_username: str | None
    channel_title: str
    message_id: int
    posted_at: datetime  # UTC-aware
    text: str
    match_start: int  # character offsets of the matched words in `text`
    match_end: int
    term: str
    watchdog: bool = False  # the channel quotes framings to debunk them


@dataclass(frozen=True, slots=True)
class IncomingPost:
    """A channel post as any source delivers it, before it is stored."""

    chat_id: int
    message_id: int
    posted_at: datetime  # UTC-aware
    text: str
    channel_title: str
    channel_username: str | None = None
    edited_at: datetime | None = None
    source: str = "bot"  # bot, forward, web, import, demo
    views: int | None = None
    author: str | None = None
    forwarded_from: str | None = None
    forwarded_link: str | None = None
    reply_to: int | None = None
    media: str | None = None
    forwarded_from_chat_id: int | None = None  # origin channel (Bot API id), when known
    forwarded_from_message_id: int | None = None


class StoreOutcome(StrEnum):
    """What storing one post did."""

    NEW = "new"
    EDITED = "edited"
    UNCHANGED = "unchanged"
    STALE = "stale"  # an older version arrived after a newer one: kept out of the text


@dataclass(frozen=True, slots=True)
class StoreResult:
    post_id: int
    outcome: StoreOutcome


@dataclass(frozen=True, slots=True)
class ChannelStats:
    chat_id: int
    username: str | None
    title: str
    is_member: bool
    post_count: int
    last_post_at: datetime | None
    watchdog: bool = False  # quotes framings to debunk them (see /watchdog)
    approval: Approval = "approved"  # only approved channels count in digests
    added_by: int | None = None  # who added the bot to it (None: not known)
    decided_by: int | None = None  # the moderator who approved or rejected it


@dataclass(frozen=True, slots=True)
class FramingStats:
    slug: str
    title: str
    terms: tuple[str, ...]
    post_count: int


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One row of a framing's rules history: a term added or removed."""

    version: int
    term: str
    change: str  # "added" or "removed"
    user_id: int | None  # None: the command line or the demo
    via: str  # /watch, /unwatch, pack <file>, ...
    at: datetime  # UTC-aware


@dataclass(frozen=True, slots=True)
class TermRow:
    term_id: int
    framing_id: int
    text: str


@dataclass(frozen=True, slots=True)
class PostToScan:
    post_id: int
    text: str
    generation: int = 0  # post_scan.generation when read: raised by every edit (0017)


class ScanMark(NamedTuple):
    """A scanned post as its write needs it: which post, and which text (its generation).
    A named tuple: a bulk scan makes one per post, several times faster than a dataclass."""

    post_id: int
    generation: int


class Scanned(Protocol):
    """A PostToScan or a ScanMark."""

    @property
    def post_id(self) -> int: ...

    @property
    def generation(self) -> int: ...


class MatchRow(NamedTuple):
    """A match to store: a named tuple, as ScanMark (one per match of a bulk scan)."""

    post_id: int
    term_id: int
    framing_id: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class FlaggedPost:
    """A new match, as `framewatch scan` reports it."""

    framing_slug: str
    term: str
    chat_id: int
    channel_username: str | None
    message_id: int
    matched_text: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    chat_id: int
    channel_username: str | None
    channel_title: str
    message_id: int
    posted_at: datetime
    snippet: str  # plain text; the matched words are wrapped in HIGHLIGHT_START/END
    watchdog: bool = False  # the channel quotes framings to debunk them (/watchdog)
    framings: tuple[str, ...] = ()  # slugs of the framings the post matched


@dataclass(frozen=True, slots=True)
class Delivery:
    chat_id: int
    period: str
    messages: tuple[str, ...]
    sent_count: int
    status: str


@dataclass(frozen=True, slots=True)
class RoleGrant:
    user_id: int
    role: str
    granted_by: int | None
    granted_at: datetime


@dataclass(frozen=True, slots=True)
class InboxUpdate:
    update_id: int
    payload: str


@dataclass(frozen=True, slots=True)
class Follow:
    """A public channel followed through its web preview, with its polling state."""

    username: str  # lowercase, without @
    chat_id: int
    title: str
    state: str  # "ok", "error" (retried with backoff) or "unavailable" (no public preview)
    last_error: str | None
    failures: int
    followed_at: datetime
    last_poll_at: datetime | None
    last_ok_at: datetime | None
    next_poll_at: datetime
    backfill_before: int | None
    backfill_left: int
    post_count: int


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit log row: who (None: the command line or the bot itself) did what, when."""

    at: datetime
    user_id: int | None
    action: str
    detail: str
