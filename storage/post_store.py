"""Storing posts in bulk: the set-wise statements behind PostRepository.store_many.

A batch's new posts are one INSERT ... SELECT over storage.dialect.value_rows (a JSON array
on SQLite, unnested arrays on PostgreSQL), returning their ids; stored posts whose details
changed are one UPDATE ... FROM; edits are one statement each for versions, old matches and
texts. A step with nothing to do sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from storage.backend import Row, Tx
from storage.dialect import ColumnType
from storage.models import IncomingPost, StoreOutcome, StoreResult
from storage.timeutil import iso, unix

# The posts' columns as a storage.dialect.value_rows table `v`, in this order.
_POST_COLUMNS: tuple[tuple[str, ColumnType], ...] = (
    ("chat_id", "bigint"),
    ("message_id", "bigint"),
    ("posted_at", "bigint"),
    ("edited_at", "bigint"),
    ("text", "text"),
    ("source", "text"),
    ("stored_at", "text"),
    ("views", "bigint"),
    ("author", "text"),
    ("forwarded_from", "text"),
    ("forwarded_link", "text"),
    ("reply_to", "bigint"),
    ("media", "text"),
    ("forwarded_from_chat_id", "bigint"),
    ("forwarded_from_message_id", "bigint"),
)
_NAMES = ", ".join(c for c, _ in _POST_COLUMNS)
# ORDER BY n: rows are inserted in list order, so ids ascend as storing one by one gives.
_INSERT_POSTS = (
    f"INSERT INTO posts ({_NAMES}) SELECT {_NAMES} FROM {{rows}}"  # noqa: S608
    " ORDER BY v.n RETURNING id, chat_id, message_id"
)


def _insert_params(post: IncomingPost, stored_at: str) -> tuple[object, ...]:
    return (
        post.chat_id,
        post.message_id,
        unix(post.posted_at),
        unix(post.edited_at) if post.edited_at else None,
        post.text,
        post.source,
        stored_at,
        post.views,
        post.author,
        post.forwarded_from,
        post.forwarded_link,
        post.reply_to,
        post.media,
        post.forwarded_from_chat_id,
        post.forwarded_from_message_id,
    )


def runs_without_repeats(posts: Sequence[IncomingPost]) -> Iterator[Sequence[IncomingPost]]:
    """Consecutive runs in which no (chat_id, message_id) occurs twice."""
    start, seen = 0, set[tuple[int, int]]()
    for i, post in enumerate(posts):
        key = (post.chat_id, post.message_id)
        if key in seen:
            yield posts[start:i]
            start, seen = i, set()
        seen.add(key)
    if start < len(posts):
        yield posts[start:]


async def store_run(tx: Tx, posts: Sequence[IncomingPost], now: datetime) -> list[StoreResult]:
    """store() for posts with distinct keys, in bulk. New posts are inserted in list order,
    so they get the ids that storing one by one gives; stored ones refresh the details that
    changed; changed texts become edits (below) unless older than the stored text. Each
    step is one set-wise statement, and a step with nothing to do sends none: re-storing
    unchanged posts writes no post (on PostgreSQL an UPDATE rewrites the row and its
    generated tsvector even when no value changes); only each channel's updated_at moves."""
    stamp = iso(now)
    await tx.executemany(UPSERT_CHANNEL, _channel_rows(posts, stamp))
    stored = await _rows_by_key(tx, posts)
    fresh = [p for p in posts if (p.chat_id, p.message_id) not in stored]
    ids = await _insert(tx, fresh, stamp)
    known = [(p, stored[k]) for p in posts if (k := (p.chat_id, p.message_id)) in stored]
    await _refresh(tx, [(p, row) for p, row in known if _details_change(p, row)])
    edits = [(p, row) for p, row in known if row[1] != p.text and not _is_stale(p, row)]
    await _edit(tx, edits, now)
    results = []
    for post in posts:
        key = (post.chat_id, post.message_id)
        if key not in stored:
            results.append(StoreResult(ids[key], StoreOutcome.NEW))
            continue
        row = stored[key]
        if row[1] == post.text:
            outcome = StoreOutcome.UNCHANGED
        else:
            outcome = StoreOutcome.STALE if _is_stale(post, row) else StoreOutcome.EDITED
        results.append(StoreResult(row[0], outcome))
    return results


async def _insert(tx: Tx, fresh: Sequence[IncomingPost], stamp: str) -> dict[tuple[int, int], int]:
    """Insert the new posts in one statement: (chat_id, message_id) -> new id."""
    if not fresh:
        return {}
    rows, params = tx.dialect.value_rows(
        "v", _POST_COLUMNS, [_insert_params(p, stamp) for p in fresh]
    )
    inserted = await tx.fetchall(_INSERT_POSTS.format(rows=rows), params)
    return {(r[1], r[2]): r[0] for r in inserted}


def _channel_rows(posts: Sequence[IncomingPost], stamp: str) -> list[tuple[object, ...]]:
    """One channel upsert per channel, leaving what one upsert per post in turn leaves:
    the last username and the last non-empty title given."""
    final: dict[int, tuple[str | None, str]] = {}
    for p in posts:
        username, title = final.get(p.chat_id, (None, ""))
        final[p.chat_id] = (p.channel_username or username, p.channel_title or title)
    return [(chat_id, name, title, stamp, stamp) for chat_id, (name, title) in final.items()]


# The stored row as _rows_by_key reads it: id, text, edited_at, message_id, then the details.
_DETAILS = (
    "views",
    "author",
    "forwarded_from",
    "forwarded_link",
    "reply_to",
    "media",
    "forwarded_from_chat_id",
    "forwarded_from_message_id",
)
_FIRST_DETAIL = 4


async def _rows_by_key(tx: Tx, posts: Sequence[IncomingPost]) -> dict[tuple[int, int], Row]:
    """(chat_id, message_id) -> (id, text, edited_at, message_id, details...) of the stored
    ones among posts: one query per channel of the batch (most batches come from one)."""
    by_chat: dict[int, list[int]] = {}
    for p in posts:  # grouped once, not filtered once per chat
        by_chat.setdefault(p.chat_id, []).append(p.message_id)
    found: dict[tuple[int, int], Row] = {}
    for chat_id, message_ids in by_chat.items():
        ids, params = tx.dialect.int_list(message_ids)
        rows = await tx.fetchall(
            # IN (subquery) probes the (chat_id, message_id) index once per id.
            f"SELECT id, text, edited_at, message_id, {', '.join(_DETAILS)} FROM posts"  # noqa: S608
            f" WHERE chat_id = ? AND message_id IN {ids}",
            [chat_id, *params],
        )
        found.update({(chat_id, r[3]): r for r in rows})
    return found


def _is_stale(post: IncomingPost, row: Row) -> bool:
    """An older version arriving after a newer one: kept out of the current text."""
    new_edited = unix(post.edited_at) if post.edited_at else None
    return (new_edited or 0) < (row[2] or 0)


def _details(post: IncomingPost) -> tuple[object, ...]:
    p = post
    origin = (p.forwarded_from_chat_id, p.forwarded_from_message_id)
    return (p.views, p.author, p.forwarded_from, p.forwarded_link, p.reply_to, p.media, *origin)


def _details_change(post: IncomingPost, row: Row) -> bool:
    """Whether _refresh would change the stored row: a detail given and different."""
    stored = tuple(row)[_FIRST_DETAIL:]
    return any(
        new is not None and new != old for new, old in zip(_details(post), stored, strict=True)
    )


async def _refresh(tx: Tx, changed: Sequence[tuple[IncomingPost, Row]]) -> None:
    """Views grow and details may arrive from a later source: keep the latest known (a
    detail a source leaves empty keeps the stored one). One statement for the batch."""
    if not changed:
        return
    columns = [("id", "bigint"), *((c, _DETAIL_TYPES[c]) for c in _DETAILS)]
    rows, params = tx.dialect.value_rows(
        "v", columns, [(row[0], *_details(p)) for p, row in changed]
    )
    await tx.execute(_REFRESH_DETAILS.format(rows=rows), params)


_DETAIL_TYPES: dict[str, ColumnType] = dict(_POST_COLUMNS)
_REFRESH_DETAILS = (
    "UPDATE posts SET "  # noqa: S608 - fixed column names
    + ", ".join(f"{c} = coalesce(v.{c}, posts.{c})" for c in _DETAILS)
    + " FROM {rows} WHERE posts.id = v.id"
)


async def _edit(tx: Tx, edits: Sequence[tuple[IncomingPost, Row]], now: datetime) -> None:
    """The old texts become versions, the old matches go (the new text is matched again
    from scratch), the new texts replace them: three statements for the whole batch."""
    if not edits:
        return
    old, params = tx.dialect.value_rows(
        "v",
        [("post_id", "bigint"), ("text", "text"), ("edited_at", "bigint")],
        [(row[0], row[1], row[2]) for _, row in edits],
    )
    await tx.execute(
        "INSERT INTO post_versions (post_id, text, edited_at, replaced_at)"  # noqa: S608
        f" SELECT post_id, text, edited_at, ? FROM {old} ORDER BY v.n",
        [iso(now), *params],
    )
    edited, params = tx.dialect.int_list([row[0] for _, row in edits])
    await tx.execute(f"DELETE FROM matches WHERE post_id IN {edited}", params)  # noqa: S608
    new, params = tx.dialect.value_rows(
        "v",
        [("id", "bigint"), ("text", "text"), ("edited_at", "bigint")],
        [(row[0], p.text, unix(p.edited_at) if p.edited_at else None) for p, row in edits],
    )
    await tx.execute(  # queues a scan (trigger of migration 0012)
        "UPDATE posts SET text = v.text, edited_at = v.edited_at"  # noqa: S608
        f" FROM {new} WHERE posts.id = v.id",
        params,
    )


# Keep what we knew when a source leaves a field empty (an import may lack the username).
UPSERT_CHANNEL = (
    "INSERT INTO channels (chat_id, username, title, is_member, added_at, updated_at)"
    " VALUES (?, ?, ?, 0, ?, ?)"
    " ON CONFLICT (chat_id) DO UPDATE SET"
    "  username = coalesce(excluded.username, channels.username),"
    "  title = CASE WHEN excluded.title <> '' THEN excluded.title ELSE channels.title END,"
    "  updated_at = excluded.updated_at"
)
