-- The SQLite triggers that keep derived rows right, in PL/pgSQL. tests/test_pg_schema.py
-- maps each SQLite trigger to its twin here and runs the same writes on both to compare.
-- Inserts and deletes are statement-level triggers over transition tables, so a bulk insert
-- (COPY, a batch of matches) runs each derived statement once per batch, not once per row;
-- updates of chosen columns stay row-level (PostgreSQL allows no transition table on an
-- `UPDATE OF column` trigger).
-- posts_fts_insert/_delete/_update have no twin: posts.search_tsv is a generated column.

-- posts_neardup_insert, posts_scan_insert, posts_lemmas_insert: every new post is queued
-- for the near-duplicate and lemma indexes and starts unscanned (INSERT OR REPLACE resets).
CREATE FUNCTION fw_posts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO neardup_queue (post_id) SELECT id FROM new_posts ON CONFLICT DO NOTHING;
    INSERT INTO post_scan (post_id) SELECT id FROM new_posts
        ON CONFLICT (post_id) DO UPDATE SET needs_scan = 1, scanned_version = 0;
    INSERT INTO post_lemma_queue (post_id) SELECT id FROM new_posts ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER posts_inserted AFTER INSERT ON posts
    REFERENCING NEW TABLE AS new_posts FOR EACH STATEMENT EXECUTE FUNCTION fw_posts_inserted();

-- posts_neardup_update, posts_scan_update, posts_lemmas_update: an edit is indexed again,
-- scanned again, and loses its old lemmas at once.
CREATE FUNCTION fw_post_text_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO neardup_queue (post_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    UPDATE post_scan SET needs_scan = 1 WHERE post_id = NEW.id;
    DELETE FROM post_lemmas WHERE post_id = NEW.id;
    INSERT INTO post_lemma_queue (post_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER posts_text_updated AFTER UPDATE OF text ON posts
    FOR EACH ROW EXECUTE FUNCTION fw_post_text_updated();

-- posts_lemmas_delete (post_lemmas has no foreign key, as in SQLite).
CREATE FUNCTION fw_posts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM post_lemmas l USING old_posts o WHERE l.post_id = o.id;
    DELETE FROM post_lemma_queue q USING old_posts o WHERE q.post_id = o.id;
    RETURN NULL;
END $$;
CREATE TRIGGER posts_deleted AFTER DELETE ON posts
    REFERENCING OLD TABLE AS old_posts FOR EACH STATEMENT EXECUTE FUNCTION fw_posts_deleted();

-- trend_posts_moved
CREATE FUNCTION fw_trend_posts_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE trend_posts SET posted_at = NEW.posted_at, chat_id = NEW.chat_id
    WHERE post_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER trend_posts_moved AFTER UPDATE OF posted_at, chat_id ON posts
    FOR EACH ROW
    WHEN (NEW.posted_at IS DISTINCT FROM OLD.posted_at OR NEW.chat_id IS DISTINCT FROM OLD.chat_id)
    EXECUTE FUNCTION fw_trend_posts_moved();

-- trend_posts_add (0015's version: a rejected match is not counted)
CREATE FUNCTION fw_trend_posts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trend_posts (framing_id, post_id, posted_at, chat_id)
    SELECT DISTINCT n.framing_id, n.post_id, p.posted_at, p.chat_id
    FROM new_matches n JOIN posts p ON p.id = n.post_id
    WHERE NOT EXISTS (SELECT 1 FROM rejected_matches r
                      WHERE r.post_id = n.post_id AND r.framing_id = n.framing_id)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER trend_posts_add AFTER INSERT ON matches
    REFERENCING NEW TABLE AS new_matches FOR EACH STATEMENT EXECUTE FUNCTION fw_trend_posts_add();

-- trend_posts_remove: once a post has no match of a framing left (also through cascades).
CREATE FUNCTION fw_trend_posts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM trend_posts t
    USING (SELECT DISTINCT post_id, framing_id FROM old_matches) o
    WHERE t.post_id = o.post_id AND t.framing_id = o.framing_id
      AND NOT EXISTS (SELECT 1 FROM matches m
                      WHERE m.post_id = o.post_id AND m.framing_id = o.framing_id);
    RETURN NULL;
END $$;
CREATE TRIGGER trend_posts_remove AFTER DELETE ON matches
    REFERENCING OLD TABLE AS old_matches FOR EACH STATEMENT
    EXECUTE FUNCTION fw_trend_posts_remove();

-- trend_posts_verdict_added
CREATE FUNCTION fw_trend_posts_verdict_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM trend_posts WHERE framing_id = NEW.framing_id AND post_id = NEW.post_id
    AND NOT EXISTS (SELECT 1 FROM counted_matches m
                    WHERE m.post_id = NEW.post_id AND m.framing_id = NEW.framing_id);
    RETURN NULL;
END $$;
CREATE TRIGGER trend_posts_verdict_added AFTER INSERT ON verdicts
    FOR EACH ROW EXECUTE FUNCTION fw_trend_posts_verdict_added();

-- trend_posts_verdict_changed and trend_posts_verdict_removed: the row of the post and
-- framing is derived again from counted_matches.
CREATE FUNCTION fw_trend_posts_rederive(one_post BIGINT, one_framing BIGINT)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trend_posts (framing_id, post_id, posted_at, chat_id)
    SELECT m.framing_id, m.post_id, p.posted_at, p.chat_id FROM counted_matches m
    JOIN posts p ON p.id = m.post_id
    WHERE m.post_id = one_post AND m.framing_id = one_framing LIMIT 1
    ON CONFLICT DO NOTHING;
END $$;

CREATE FUNCTION fw_trend_posts_verdict_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM trend_posts WHERE framing_id = NEW.framing_id AND post_id = NEW.post_id;
    PERFORM fw_trend_posts_rederive(NEW.post_id, NEW.framing_id);
    RETURN NULL;
END $$;
CREATE TRIGGER trend_posts_verdict_changed AFTER UPDATE OF verdict ON verdicts
    FOR EACH ROW EXECUTE FUNCTION fw_trend_posts_verdict_changed();

CREATE FUNCTION fw_trend_posts_verdict_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fw_trend_posts_rederive(OLD.post_id, OLD.framing_id);
    RETURN NULL;
END $$;
CREATE TRIGGER trend_posts_verdict_removed AFTER DELETE ON verdicts
    FOR EACH ROW EXECUTE FUNCTION fw_trend_posts_verdict_removed();
