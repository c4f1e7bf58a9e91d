-- Rules history and background rescans.
--
-- Every change to a framing's terms is a row of rule_changes. The rows one change writes
-- (a /watch, an /unwatch of a whole framing, a pack import) share a rules version, which
-- only grows: the scan compiles its matcher once per version. Framing and term are kept as
-- text so the history outlives a removed framing.
CREATE TABLE rule_changes (
    id            INTEGER PRIMARY KEY,
    version       INTEGER NOT NULL,
    framing_slug  TEXT NOT NULL,
    term_text     TEXT NOT NULL,
    change        TEXT NOT NULL CHECK (change IN ('added', 'removed')),
    user_id       INTEGER,                    -- NULL: the command line or the demo
    via           TEXT NOT NULL DEFAULT '',   -- /watch, /unwatch, pack <file>, ...
    at            TEXT NOT NULL               -- ISO 8601 UTC
);
CREATE INDEX rule_changes_version ON rule_changes(version);

-- The rules version that added the term: a matcher compiled at an older version lacks it.
ALTER TABLE terms ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
-- Background rescan of a new term over the stored posts: the posts with id up to this one
-- have been matched against it. Saved with each batch, so a restart continues from here.
-- (terms.backfilled becomes 1 once every stored post is covered.)
ALTER TABLE terms ADD COLUMN rescanned_through INTEGER NOT NULL DEFAULT 0;

-- The rules version of the matcher that last scanned the post: a term of that version or
-- older has been applied to it, so a rescan can skip it.
ALTER TABLE posts ADD COLUMN scanned_version INTEGER NOT NULL DEFAULT 0;

-- Terms from before versioning become version 1, with their history rows.
INSERT INTO rule_changes (version, framing_slug, term_text, change, user_id, via, at)
SELECT 1, f.slug, t.text, 'added', t.created_by, 'before versioning', t.created_at
FROM terms t JOIN framings f ON f.id = t.framing_id ORDER BY t.id;
UPDATE terms SET version = 1;
