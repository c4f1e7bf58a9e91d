-- Search by meaning (issue 11): every post's words as lemma keys beside their normalised forms,
-- one token per word in each column (bot/search_lemmas.py), so /search finds every inflected
-- form. Python lemmatises, so a trigger cannot fill the table: it queues the post, and the
-- scan job indexes the queue a batch at a time (bot/lemma_index.py). Existing posts are
-- queued here and indexed in the background; until then search finds them by exact forms.
CREATE VIRTUAL TABLE post_lemmas USING fts5(
    forms, lemmas, tokenize = "unicode61 remove_diacritics 0 tokenchars '_'"
);
CREATE TABLE post_lemma_queue (post_id INTEGER PRIMARY KEY);
INSERT INTO post_lemma_queue (post_id) SELECT id FROM posts;

CREATE TRIGGER posts_lemmas_insert AFTER INSERT ON posts BEGIN
    INSERT OR IGNORE INTO post_lemma_queue (post_id) VALUES (new.id);
END;
-- An edited post loses its old lemmas at once (no stale hits) and is queued again.
CREATE TRIGGER posts_lemmas_update AFTER UPDATE OF text ON posts BEGIN
    DELETE FROM post_lemmas WHERE rowid = new.id;
    INSERT OR IGNORE INTO post_lemma_queue (post_id) VALUES (new.id);
END;
CREATE TRIGGER posts_lemmas_delete AFTER DELETE ON posts BEGIN
    DELETE FROM post_lemmas WHERE rowid = old.id;
    DELETE FROM post_lemma_queue WHERE post_id = old.id;
END;
