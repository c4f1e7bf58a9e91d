"""What `framewatch copy-db` copies, in which order, and what it leaves to the target.

Every table of the schema is either in COPIED or in NOT_COPIED (tests/test_copy_db.py checks
that against SQLite's tables, so a new table cannot be forgotten silently).
"""

from __future__ import annotations

# Every table after the tables its foreign keys point at.
COPIED = (
    "channels",
    "posts",
    "post_versions",
    "framings",
    "terms",
    "rule_changes",
    "matches",
    "verdicts",
    "subscribers",
    "digest_texts",
    "deliveries",
    "delivery_charts",
    "alerts_sent",
    "subscriber_settings",
    "subscriber_framings",
    "roles",
    "audit_log",
    "inbox",
    "follows",
    "post_bands",
    "near_duplicates",
    "post_lemmas",
    # Kept by triggers on the tables above (posts, matches, verdicts), which may fill them
    # on the target as those are copied: cleared then, and copied as they are in the source,
    # so queues, scan state and trend rows carry over exactly. (trend_posts rows of new
    # matches come from storage/trend_store.py, not a trigger: copied all the same.)
    "trend_posts",
    "neardup_queue",
    "post_scan",
    "post_lemma_queue",
)
TRIGGER_FED = frozenset({"trend_posts", "neardup_queue", "post_scan", "post_lemma_queue"})

NOT_COPIED = {
    "schema_migrations": "each database records its own migrations",
    "posts_fts": "rebuilt on the target: SQLite's triggers index posts as they are copied; "
    "on PostgreSQL it is the generated column posts.search_tsv",
}

# post_lemmas is an FTS5 table in SQLite: its key is the rowid, post_id on PostgreSQL.
SQLITE_ROWID_COLUMNS = {"post_lemmas": "post_id"}

CHUNK_ROWS = 5000  # rows read and written per round trip
