"""Writing a batch of matches, shared by the scan in one process (storage/matches.py) and
the scan claimed by several (storage/scan_claims.py): one statement per batch, and one for
its trend_posts rows (storage/trend_store.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from storage.backend import Tx
from storage.models import MatchRow
from storage.timeutil import iso
from storage.trend_store import add_trend_posts

# A match is stored only if its term still exists and is no newer than the matcher that
# found it (a term id freed by a removal can be reused by a new term), and its post has not
# been edited since it was read (an edit deletes the matches and marks the post for a scan).
# Rows to insert come as dialect.int_rows table `b`; a key already stored is left alone.
_INSERT_MATCHES = (
    "INSERT INTO matches (post_id, term_id, framing_id, start_pos, end_pos, matched_at)"
    " SELECT b.post_id, b.term_id, b.framing_id, b.start_pos, b.end_pos, CAST(? AS TEXT)"
    " FROM {rows}"
    " WHERE EXISTS (SELECT 1 FROM terms WHERE id = b.term_id AND version <= ?)"
    " AND EXISTS (SELECT 1 FROM post_scan WHERE post_id = b.post_id AND needs_scan = 0)"
    " ORDER BY b.n ON CONFLICT DO NOTHING RETURNING post_id, term_id"
)
_MATCH_COLUMNS = ("post_id", "term_id", "framing_id", "start_pos", "end_pos")


async def fresh_matches(
    tx: Tx, kept: set[int], found: Sequence[MatchRow], guard: int
) -> list[MatchRow]:
    """The matches of the posts in `kept` (just marked scanned in this transaction) deleted;
    returns which of `found` to insert: the first of each post and term, of terms up to
    version `guard`. Two statements a batch."""
    done, params = tx.dialect.int_list(sorted(kept))
    await tx.execute(f"DELETE FROM matches WHERE post_id IN {done}", params)  # noqa: S608
    # The posts in `kept` have no matches now and needs_scan = 0 (set by the caller): of
    # the guards of _INSERT_MATCHES only the term's remains, checked once a batch.
    terms = {r[0] for r in await tx.fetchall("SELECT id FROM terms WHERE version <= ?", (guard,))}
    return _first_of_each(m for m in found if m.post_id in kept and m.term_id in terms)


async def insert_fresh(tx: Tx, new: Sequence[MatchRow], now: datetime) -> None:
    """Insert what fresh_matches() returned (no key of it is stored) and their trend_posts
    rows: two statements for the batch. One set-wise INSERT, not executemany: on PostgreSQL
    each execution is its own plan execution, trigger queue and index probes."""
    if not new:
        return
    rows, params = tx.dialect.int_rows("b", _MATCH_COLUMNS, new)  # a MatchRow is those 5 ints
    columns = ", ".join(_MATCH_COLUMNS)
    await tx.execute(
        f"INSERT INTO matches ({columns}, matched_at)"  # noqa: S608 - fixed names
        f" SELECT {columns}, CAST(? AS TEXT) FROM {rows} ORDER BY b.n",
        [iso(now), *params],  # the CAST comes first
    )
    await add_trend_posts(tx, (m.post_id for m in new))


def _first_of_each(found: Iterable[MatchRow]) -> list[MatchRow]:
    """The first match of each (post, term), in order: what INSERT OR IGNORE would keep."""
    seen: set[tuple[int, int]] = set()
    firsts = []
    for m in found:
        key = (m.post_id, m.term_id)
        if key not in seen:
            seen.add(key)
            firsts.append(m)
    return firsts


async def insert_many(
    tx: Tx, found: Sequence[MatchRow], now: datetime, rules_version: int
) -> list[MatchRow]:
    """Each match stored unless its key is (the first of each key wins) or a guard of
    _INSERT_MATCHES fails, with the trend_posts rows of their posts; the ones stored, in
    order. Two statements for the batch."""
    if not found:
        return []
    rows, params = tx.dialect.int_rows("b", _MATCH_COLUMNS, found)
    stored = await tx.fetchall(
        _INSERT_MATCHES.format(rows=rows), [iso(now), *params, rules_version]
    )
    new = {(r[0], r[1]) for r in stored}
    await add_trend_posts(tx, (post for post, _ in new))
    return _first_of_each(m for m in found if (m.post_id, m.term_id) in new)
