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
