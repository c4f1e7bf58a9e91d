-- Scan state out of the posts row (issue 9): marking a post scanned used to rewrite its
-- whole row, text included (about 1 GB written per 200k posts). Now it rewrites one narrow
-- row here. Every new post and every edit lands here by trigger, whatever path stored it.
CREATE TABLE post_scan (
    post_id          INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    needs_scan       INTEGER NOT NULL DEFAULT 1,  -- 1 until matched against every current term
    scanned_version  INTEGER NOT NULL DEFAULT 0   -- rules version of the last scan
);
INSERT INTO post_scan (post_id, needs_scan, scanned_version)
    SELECT id, needs_scan, scanned_version FROM posts;
CREATE INDEX post_scan_queued ON post_scan(post_id) WHERE needs_scan = 1;

CREATE TRIGGER posts_scan_insert AFTER INSERT ON posts BEGIN
    INSERT OR REPLACE INTO post_scan (post_id) VALUES (new.id);
END;
-- An edit's new text is matched from scratch (storage/posts.py drops the old matches).
CREATE TRIGGER posts_scan_update AFTER UPDATE OF text ON posts BEGIN
    UPDATE post_scan SET needs_scan = 1 WHERE post_id = new.id;
END;

DROP INDEX posts_needs_scan;
ALTER TABLE posts DROP COLUMN needs_scan;
ALTER TABLE posts DROP COLUMN scanned_version;
