"""The browser view's SQL (`framewatch serve`, Datasette): stored queries and table lists.

Every query is read-only SQL run by Datasette on a `mode=ro` connection. They call SQL
functions that bot/serve.py registers on each connection (SQL_FUNCTIONS names them):
fw_link(chat_id, username, message_id) builds a post's t.me link (bot/links.py),
fw_day(unix) / fw_time(unix) give the local day / time in FRAMEWATCH_TIMEZONE,
fw_days(unix, n) the last n local days up to unix as JSON [[start, end, "YYYY-MM-DD"], ...],
fw_fts(text) turns typed words into a safe FTS5 query, and fw_ref_chat(link) /
fw_ref_username(link) / fw_ref_message(link) read a pasted t.me link.

Windows of N days end at the newest stored post, not at the wall clock: an imported or
demo database shows its own last weeks. A query is offered only when every table in its
`needs` exists (the integrator wires in tables added by other branches this way).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from urllib.parse import quote

SQL_FUNCTIONS = (
    "fw_link", "fw_day", "fw_time", "fw_days", "fw_fts", "fw_ref_chat", "fw_ref_username",
    "fw_ref_message", "fw_precision", "fw_lemma",
)  # fmt: skip

# Tables anyone who can open the view may read. Every other table (and any added later)
# holds Telegram user ids or private messages (audit log, roles, subscribers, deliveries,
# raw updates, who added or decided what) and needs FRAMEWATCH_SERVE_TOKEN.
PUBLIC_TABLES = frozenset(
    {
        "posts",
        "posts_fts",
        "post_lemmas",
        "post_versions",
        "matches",
        "trend_posts",
        "near_duplicates",
    }
)
# Bookkeeping of the bot's jobs: hidden from the table lists (still readable with a token).
INTERNAL_TABLES = frozenset(
    {"post_scan", "neardup_queue", "post_bands", "digest_texts", "schema_migrations"}
)

# The channel lookup render_cell uses to link the posts table's message ids.
CHANNEL_USERNAME = "SELECT username FROM channels WHERE chat_id = ?"
EXISTING_TABLES = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"

_CHANNEL = "coalesce('@' || c.username, c.title)"
_LINK = "fw_link(p.chat_id, c.username, p.message_id)"
# Counted like the bot's trends: approved channels that are not watchdogs.
_COUNTED = "JOIN watched_channels c ON c.chat_id = t.chat_id AND c.watchdog = 0"
_FRAMING_IS = "f.slug = lower(trim(:framing))"
_ANY_FRAMING = f"(trim(:framing) = '' OR {_FRAMING_IS})"


# Per framing and local day, as storage/trends.py counts: each day is a seek in the covering
# index trend_posts_framing (no Python call per post, no sort of every post).
_IN_DAY = (
    "FROM trend_posts t INDEXED BY trend_posts_framing WHERE t.framing_id = f.id"
    " AND t.posted_at >= d.value ->> 0 AND t.posted_at < d.value ->> 1"
    " AND t.chat_id IN (SELECT chat_id FROM watched_channels WHERE watchdog = 0)"
)
_DAILY = (
    f"SELECT d.value ->> 2 AS day, f.slug AS framing, (SELECT count(*) {_IN_DAY}) AS posts,"
    f" (SELECT count(DISTINCT t.chat_id) {_IN_DAY}) AS channels"
    " FROM w, json_each(fw_days(w.latest, w.width / 86400)) d, framings f"
)


def _days(default: int) -> str:
    """A window of :days days (default `default`, 1..3650) ending at the newest post."""
    return (
        "SELECT max(posted_at) AS latest, 86400 * max(1, min(3650, coalesce(nullif("
        f"CAST(:days AS INTEGER), 0), {default}))) AS width FROM posts"
    )


@dataclass(frozen=True, slots=True)
class StoredQuery:
    name: str
    title: str
    description: str
    sql: str
    needs: frozenset[str]
    params: tuple[str, ...] = ()


def _q(name: str, title: str, description: str, sql: str, needs: str, *params: str) -> StoredQuery:
    return StoredQuery(name, title, description, sql.strip(), frozenset(needs.split()), params)


_TREND = "framings trend_posts watched_channels"

FRAMINGS_OVER_TIME = _q(
    "framings_over_time",
    "Framings over time",
    "Matched posts per framing and local day over the last `days` days (default 90) up to the "
    "newest stored post. Approved, non-watchdog channels count. The dashboard draws this.",
    f"""
WITH w AS ({_days(90)})
SELECT d.value ->> 2 AS day, f.slug AS framing, (SELECT count(*) {_IN_DAY}) AS posts
FROM w, json_each(fw_days(w.latest, w.width / 86400)) d, framings f
WHERE posts > 0 ORDER BY day, framing""",
    _TREND,
    "days",
)

QUERIES: tuple[StoredQuery, ...] = (
    _q(
        "framing_timeline",
        "A framing's daily timeline",
        "Matched posts and channels per local day for one framing (its slug, see the framings "
        "query), over the last `days` days (default 90) up to the newest stored post.",
        f"""
WITH w AS ({_days(90)})
SELECT day, posts, channels FROM ({_DAILY} WHERE {_FRAMING_IS})
WHERE posts > 0 ORDER BY day""",
        _TREND,
        "framing",
        "days",
    ),
    _q(
        "surging",
        "What is surging",
        "Framings by how far their last `days` days (default 7) exceed their previous 28 "
        "days, scaled to the same length: ratio = (recent + 1) / (expected + 1). A quick "
        "look; the bot's spike test (/trend, `framewatch trends`) is the authority.",
        f"""
WITH w AS ({_days(7)}),
x AS (SELECT t.framing_id, t.chat_id, t.posted_at > w.latest - w.width AS recent
      FROM trend_posts t {_COUNTED}, w
      WHERE t.posted_at > w.latest - w.width - 28 * 86400)
SELECT f.slug AS framing, f.title, sum(x.recent) AS recent_posts,
       count(DISTINCT CASE WHEN x.recent THEN x.chat_id END) AS recent_channels,
       round(sum(NOT x.recent) * w.width / (28.0 * 86400), 1) AS expected,
       round((sum(x.recent) + 1.0) / (sum(NOT x.recent) * w.width / (28.0 * 86400) + 1.0), 2)
           AS ratio
FROM x JOIN framings f ON f.id = x.framing_id, w
GROUP BY f.id HAVING recent_posts > 0 ORDER BY ratio DESC, recent_posts DESC""",
        _TREND,
        "days",
    ),
    _q(
        "first_seen",
        "First seen: a framing's earliest posts",
        "The first 30 posts that carried a framing, oldest first, with their links. The "
        "first row is where it was first seen (watchdog channels are marked).",
        f"""
SELECT fw_time(p.posted_at) AS posted, {_CHANNEL} AS channel, {_LINK} AS link,
       c.watchdog, substr(p.text, 1, 300) AS text
FROM framings f JOIN trend_posts t ON t.framing_id = f.id JOIN posts p ON p.id = t.post_id
JOIN watched_channels c ON c.chat_id = p.chat_id
WHERE {_FRAMING_IS}
ORDER BY p.posted_at, p.id LIMIT 30""",
        "framings trend_posts posts watched_channels",
        "framing",
    ),
    _q(
        "amplifiers",
        "Amplifiers of a framing",
        "Channels that carried a framing after the channel that first posted it, by how soon: "
        "posts, forwards among them, hours after the first post, and their first post's link.",
        f"""
WITH fp AS (
  SELECT p.id, p.chat_id, p.message_id, p.posted_at,
         (p.forwarded_from_chat_id IS NOT NULL OR p.forwarded_link IS NOT NULL) AS forward
  FROM framings f JOIN trend_posts t ON t.framing_id = f.id JOIN posts p ON p.id = t.post_id
  JOIN watched_channels w ON w.chat_id = p.chat_id WHERE {_FRAMING_IS}),
origin AS (SELECT chat_id, posted_at FROM fp ORDER BY posted_at, id LIMIT 1),
firsts AS (SELECT chat_id, message_id, min(posted_at) AS posted_at FROM fp GROUP BY chat_id)
SELECT {_CHANNEL} AS channel, count(*) AS posts, sum(fp.forward) AS forwards,
       fw_time(firsts.posted_at) AS first_post,
       round((firsts.posted_at - origin.posted_at) / 3600.0, 1) AS hours_after_first,
       fw_link(c.chat_id, c.username, firsts.message_id) AS link
FROM fp JOIN origin JOIN firsts ON firsts.chat_id = fp.chat_id
JOIN channels c ON c.chat_id = fp.chat_id
WHERE fp.chat_id != origin.chat_id
GROUP BY fp.chat_id ORDER BY firsts.posted_at, posts DESC""",
        "framings trend_posts posts watched_channels channels",
        "framing",
    ),
    _q(
        "coordinated_pushes",
        "Coordinated pushes",
        "Near-identical posts (the near-duplicate index) in at least `min_channels` channels "
        "(default 3) within `minutes` minutes (default 10) of the first, over the last `days` "
        "days (default 30); optionally only posts of one `framing`. Approved, non-watchdog "
        "channels only. `framewatch propagation` adds forwards and a learned window.",
        f"""
WITH prm AS (
  SELECT 60 * max(1, min(1440, coalesce(nullif(CAST(:minutes AS INTEGER), 0), 10))) AS win,
         max(2, coalesce(nullif(CAST(:min_channels AS INTEGER), 0), 3)) AS least,
         w.latest - w.width AS since
  FROM ({_days(30)}) w),
cp AS (SELECT p.id, p.chat_id, p.posted_at FROM prm, posts p
       JOIN watched_channels w ON w.chat_id = p.chat_id AND w.watchdog = 0
       WHERE p.posted_at > prm.since),
pairs AS (SELECT cp.id AS a, nd.other_id AS b FROM cp JOIN near_duplicates nd ON nd.post_id = cp.id
          UNION ALL
          SELECT cp.id, nd.post_id FROM cp JOIN near_duplicates nd ON nd.other_id = cp.id),
seeds AS (
  SELECT a.id AS seed, count(DISTINCT b.chat_id) + 1 AS channels, count(*) + 1 AS posts,
         max(b.posted_at) - a.posted_at AS span
  FROM prm, pairs JOIN cp a ON a.id = pairs.a JOIN cp b ON b.id = pairs.b
  WHERE b.chat_id != a.chat_id
    AND b.posted_at >= a.posted_at AND b.posted_at <= a.posted_at + prm.win
    AND (trim(:framing) = '' OR a.id IN (SELECT t.post_id FROM trend_posts t
         JOIN framings f ON f.id = t.framing_id WHERE {_FRAMING_IS}))
    AND NOT EXISTS (SELECT 1 FROM pairs e JOIN cp q ON q.id = e.b WHERE e.a = a.id
         AND q.chat_id != a.chat_id AND q.posted_at < a.posted_at
         AND q.posted_at >= a.posted_at - prm.win)
  GROUP BY a.id)
SELECT fw_time(p.posted_at) AS started, {_CHANNEL} AS first_channel, {_LINK} AS link,
       s.channels, s.posts, round(s.span / 60.0, 1) AS minutes,
       (SELECT group_concat(f.slug, ', ') FROM trend_posts t JOIN framings f
        ON f.id = t.framing_id WHERE t.post_id = p.id) AS framings,
       substr(p.text, 1, 300) AS text
FROM seeds s JOIN prm JOIN posts p ON p.id = s.seed JOIN channels c ON c.chat_id = p.chat_id
WHERE s.channels >= prm.least ORDER BY p.posted_at DESC LIMIT 200""",
        "near_duplicates posts watched_channels channels trend_posts framings",
        "framing",
        "minutes",
        "min_channels",
        "days",
    ),
    _q(
        "channel_framing",
        "Channels x framings",
        "For each channel and framing over the last `days` days (default 30): matched posts, "
        "their share of the channel's posts, first and last. Facet by framing or channel.",
        f"""
WITH w AS ({_days(30)}),
totals AS (SELECT chat_id, count(*) AS n FROM posts, w
           WHERE posted_at > w.latest - w.width GROUP BY chat_id)
SELECT {_CHANNEL} AS channel, f.slug AS framing, count(*) AS posts,
       round(100.0 * count(*) / totals.n, 1) AS pct_of_channel_posts,
       fw_time(min(t.posted_at)) AS first, fw_time(max(t.posted_at)) AS last, c.watchdog
FROM trend_posts t JOIN framings f ON f.id = t.framing_id
JOIN watched_channels c ON c.chat_id = t.chat_id JOIN totals ON totals.chat_id = t.chat_id, w
WHERE t.posted_at > w.latest - w.width
GROUP BY t.chat_id, f.id ORDER BY channel, posts DESC""",
        _TREND + " posts",
        "days",
    ),
    _q(
        "post_versions",
        "A post's versions (edits)",
        "Every stored text of one post, oldest first, the current text last. Paste its link: "
        "https://t.me/name/123 or https://t.me/c/1234567/123.",
        """
WITH target AS (
  SELECT p.id, p.chat_id, p.message_id, p.posted_at, p.edited_at, p.text, c.username
  FROM posts p JOIN channels c ON c.chat_id = p.chat_id
  WHERE p.message_id = fw_ref_message(:link)
    AND (p.chat_id = fw_ref_chat(:link) OR lower(c.username) = fw_ref_username(:link)))
SELECT row_number() OVER (ORDER BY n) AS version, written, replaced, text, link FROM (
  SELECT v.id AS n, coalesce(fw_time(v.edited_at), 'original') AS written,
         v.replaced_at AS replaced, v.text,
         fw_link(t.chat_id, t.username, t.message_id) AS link
  FROM post_versions v JOIN target t ON t.id = v.post_id
  UNION ALL
  SELECT 9223372036854775807, fw_time(coalesce(t.edited_at, t.posted_at)), 'current', t.text,
         fw_link(t.chat_id, t.username, t.message_id)
  FROM target t)
ORDER BY n""",
        "posts post_versions channels",
        "link",
    ),
    _q(
        "search_posts",
        "Search posts",
        "Full-text search of every stored post (words as typed; a word ending in * is a "
        "prefix), best matches first, with the framings each matched.",
        f"""
SELECT fw_time(p.posted_at) AS posted, {_CHANNEL} AS channel,
       snippet(posts_fts, 0, '[', ']', '…', 24) AS excerpt, {_LINK} AS link,
       (SELECT group_concat(f.slug, ', ') FROM trend_posts t JOIN framings f
        ON f.id = t.framing_id WHERE t.post_id = p.id) AS framings
FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid JOIN channels c ON c.chat_id = p.chat_id
WHERE posts_fts MATCH fw_fts(:q)
ORDER BY rank LIMIT 100""",
        "posts posts_fts channels trend_posts framings",
        "q",
    ),
    _q(
        "review_queue",
        "Review queue",
        "Matches nobody has judged yet (no verdict for the post and framing), newest first, "
        "with the matched term in context; optionally one `framing`.",
        f"""
SELECT fw_time(p.posted_at) AS posted, f.slug AS framing, te.text AS term,
       substr(p.text, max(1, m.start_pos + 1 - 100), m.end_pos - m.start_pos + 200)
           AS context,
       {_CHANNEL} AS channel, {_LINK} AS link
FROM matches m JOIN framings f ON f.id = m.framing_id JOIN terms te ON te.id = m.term_id
JOIN posts p ON p.id = m.post_id JOIN watched_channels c ON c.chat_id = p.chat_id
WHERE {_ANY_FRAMING}
  AND m.term_id = (SELECT min(term_id) FROM matches m2
                   WHERE m2.post_id = m.post_id AND m2.framing_id = m.framing_id)
  AND NOT EXISTS (SELECT 1 FROM verdicts v
                  WHERE v.post_id = m.post_id AND v.framing_id = m.framing_id)
ORDER BY p.posted_at DESC, p.id DESC LIMIT 200""",
        "matches framings terms posts watched_channels verdicts",
        "framing",
    ),
    _q(
        "term_precision",
        "Precision per term",
        "Each term's matched posts and the verdicts on them (a verdict on a post and framing "
        "counts for every term that matched the post, as in /framings): correct, wrong "
        "framing, debunk (the post argues against the framing), and precision as the lower "
        "bound of its 95% Wilson interval, shown from 20 verdicts as in /framings; lowest "
        "first. Optionally one `framing`.",
        f"""
SELECT f.slug AS framing, te.text AS term, count(m.post_id) AS matched_posts,
       count(v.verdict) AS reviewed,
       coalesce(sum(v.verdict = 'correct'), 0) AS correct,
       coalesce(sum(v.verdict = 'wrong_framing'), 0) AS wrong_framing,
       coalesce(sum(v.verdict = 'debunk'), 0) AS debunk,
       fw_precision(coalesce(sum(v.verdict = 'correct'), 0), count(v.verdict))
           AS precision_pct
FROM terms te JOIN framings f ON f.id = te.framing_id
LEFT JOIN matches m ON m.term_id = te.id
LEFT JOIN verdicts v ON v.post_id = m.post_id AND v.framing_id = m.framing_id
WHERE {_ANY_FRAMING}
GROUP BY te.id ORDER BY precision_pct IS NULL, precision_pct, reviewed DESC, f.slug""",
        "terms framings verdicts matches",
        "framing",
    ),
    _q(
        "spike_alerts",
        "Spike alerts sent",
        "The days the bot found a framing spiking and alerted subscribers, newest first, "
        "with how many subscribers it reached.",
        """
SELECT day, framing_slug AS framing, sum(status = 'sent') AS subscribers_alerted,
       sum(status IN ('pending', 'postponed')) AS still_pending
FROM alerts_sent GROUP BY day, framing_slug ORDER BY day DESC, framing""",
        "alerts_sent",
    ),
    _q(
        "framing_list",
        "Framings",
        "Every framing: its terms, matched posts, and its first and last matched post.",
        """
SELECT f.slug AS framing, f.title, f.description,
       (SELECT count(*) FROM terms te WHERE te.framing_id = f.id) AS terms,
       (SELECT count(*) FROM trend_posts t WHERE t.framing_id = f.id) AS matched_posts,
       (SELECT fw_time(min(t.posted_at)) FROM trend_posts t WHERE t.framing_id = f.id) AS first,
       (SELECT fw_time(max(t.posted_at)) FROM trend_posts t WHERE t.framing_id = f.id) AS last
FROM framings f ORDER BY f.slug""",
        "framings terms trend_posts",
    ),
    _q(
        "channel_list",
        "Channels",
        "Every channel the bot stores posts of: approval, watchdog, stored posts, newest post.",
        """
WITH stored AS (SELECT chat_id, count(*) AS posts, max(posted_at) AS newest
                FROM posts GROUP BY chat_id)
SELECT coalesce('@' || c.username, c.title) AS channel, c.title, c.chat_id, c.approval,
       c.watchdog, coalesce(s.posts, 0) AS posts, fw_time(s.newest) AS newest
FROM channels c LEFT JOIN stored s ON s.chat_id = c.chat_id
ORDER BY posts DESC, channel""",
        "channels posts",
    ),
    FRAMINGS_OVER_TIME,
    _q(
        "lemma_search",
        "Search posts by meaning",
        "Every inflected form of the words, as /search finds them: `киевский режим` finds "
        '«киевского режима»; "quoted" words keep their exact form, OR, NOT and prefix* '
        "work. Posts still waiting for the background word-form index are left out here "
        "(/search finds them by their exact forms meanwhile). Newest first.",
        f"""
SELECT fw_time(p.posted_at) AS posted, {_CHANNEL} AS channel,
       substr(p.text, 1, 300) AS text, {_LINK} AS link,
       (SELECT group_concat(f.slug, ', ') FROM trend_posts t JOIN framings f
        ON f.id = t.framing_id WHERE t.post_id = p.id) AS framings
FROM post_lemmas JOIN posts p ON p.id = post_lemmas.rowid
JOIN channels c ON c.chat_id = p.chat_id
WHERE post_lemmas MATCH fw_lemma(:q)
ORDER BY p.posted_at DESC, p.id DESC LIMIT 100""",
        "posts post_lemmas channels trend_posts framings",
        "q",
    ),
)


def existing_tables(conn: sqlite3.Connection) -> frozenset[str]:
    return frozenset(row[0] for row in conn.execute(EXISTING_TABLES))


def available(tables: frozenset[str]) -> list[StoredQuery]:
    """The stored queries whose tables all exist."""
    return [query for query in QUERIES if query.needs <= tables]


def read_tables(path: str) -> frozenset[str]:
    """The tables and views of the database file at `path`, read without writing to it."""
    conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
    try:
        return existing_tables(conn)
    finally:
        conn.close()
