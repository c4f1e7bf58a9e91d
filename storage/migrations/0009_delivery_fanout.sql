-- Digest fan-out to many subscribers.
--
-- A period's digest is the same text for every subscriber: it is kept once here and the
-- deliveries point at it (deliveries.messages stays '' for them; older rows keep theirs).
CREATE TABLE digest_texts (
    id          INTEGER PRIMARY KEY,
    messages    TEXT NOT NULL UNIQUE           -- JSON list of HTML messages
);
ALTER TABLE deliveries ADD COLUMN text_id INTEGER REFERENCES digest_texts(id);

-- The delivery claims one period's rows in one read; without this it scans every period's.
CREATE INDEX deliveries_period ON deliveries(period);

-- Digests read the matched posts of a day and a week by posted_at and channel: with the
-- channel in the index they no longer read each post's row (its text) for the 97% that
-- have no match. /digest at 1M posts: 0.4-0.6 s -> 0.12-0.18 s for the week's query.
-- It serves every query the old one-column index did.
DROP INDEX posts_posted_at;
CREATE INDEX posts_posted_chat ON posts(posted_at, chat_id);
