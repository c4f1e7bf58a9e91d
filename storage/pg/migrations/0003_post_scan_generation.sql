-- The twin of SQLite's 0017: post_scan.generation, raised by every edit of a post's text, so
-- a scan marks a post scanned only if it matched the text that is still there.
ALTER TABLE post_scan ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION fw_post_text_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO neardup_queue (post_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    UPDATE post_scan SET needs_scan = 1, generation = generation + 1 WHERE post_id = NEW.id;
    DELETE FROM post_lemmas WHERE post_id = NEW.id;
    INSERT INTO post_lemma_queue (post_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
