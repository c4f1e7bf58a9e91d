-- Which text of a post a scan matched: a counter that every edit of the text raises. A scan
-- reads (id, text, generation) and marks a post scanned only if the generation is still the
-- one it read, so an edit that arrived meanwhile keeps the post queued. It replaces comparing
-- the whole text again, one statement per post, when a batch is written (storage/matches.py):
-- a batch is now marked with one statement.
ALTER TABLE post_scan ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
DROP TRIGGER posts_scan_update;
CREATE TRIGGER posts_scan_update AFTER UPDATE OF text ON posts BEGIN
    UPDATE post_scan SET needs_scan = 1, generation = generation + 1 WHERE post_id = new.id;
END;
