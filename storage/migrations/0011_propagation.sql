-- Propagation (issue 10, part 2): forward origins and the incremental near-duplicate index.

-- The channel (Bot API id, -100...) and message a post was forwarded from, when the source
-- says so: the Bot API forward origin, an export's forwarded_from_id (chat only). Web
-- previews give a t.me link (forwarded_link), resolved by username when counted.
ALTER TABLE posts ADD COLUMN forwarded_from_chat_id INTEGER;
ALTER TABLE posts ADD COLUMN forwarded_from_message_id INTEGER;

-- Posts whose text still has to be indexed: every new post and every edit lands here by
-- trigger, whatever path stored it; the scan job indexes them in batches and removes them
-- in the same transaction, so a crash leaves them queued, never half-indexed.
CREATE TABLE neardup_queue (post_id INTEGER PRIMARY KEY);
INSERT INTO neardup_queue (post_id) SELECT id FROM posts;
CREATE TRIGGER posts_neardup_insert AFTER INSERT ON posts BEGIN
    INSERT OR IGNORE INTO neardup_queue (post_id) VALUES (new.id);
END;
CREATE TRIGGER posts_neardup_update AFTER UPDATE OF text ON posts BEGIN
    INSERT OR IGNORE INTO neardup_queue (post_id) VALUES (new.id);
END;

-- MinHash LSH band keys (bot/neardup.py): posts sharing a key are candidate near-duplicates.
CREATE TABLE post_bands (
    bucket   INTEGER NOT NULL,                 -- 64-bit hash of one band of the signature
    post_id  INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    PRIMARY KEY (bucket, post_id)
) WITHOUT ROWID;
CREATE INDEX post_bands_post ON post_bands(post_id);

-- Verified near-duplicate pairs (exact Jaccard of word shingles), lower post id first.
CREATE TABLE near_duplicates (
    post_id     INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    other_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    similarity  REAL NOT NULL,
    PRIMARY KEY (post_id, other_id)
) WITHOUT ROWID;
CREATE INDEX near_duplicates_other ON near_duplicates(other_id);
