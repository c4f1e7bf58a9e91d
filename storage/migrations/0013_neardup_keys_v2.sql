-- Near-duplicate band keys, second format (bot/neardup.py): a shingle's hash is now built
-- from its words' cached hashes in one numpy pass over a batch, instead of SHA-1 per shingle
-- (most of a fingerprint's cost). Keys of the old format never match new ones, so every
-- post is indexed again: old keys and pairs are dropped and all posts queued; the scan job
-- works through the queue a batch at a time, as it did after 0011.
DELETE FROM post_bands;
DELETE FROM near_duplicates;
INSERT OR IGNORE INTO neardup_queue (post_id) SELECT id FROM posts;
