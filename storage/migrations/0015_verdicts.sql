-- Reviews (issue 11, part 3): moderators mark what the rules got wrong.
--
-- One verdict per matched post and framing: 'correct', 'wrong_framing' (the words are
-- there, the framing is not) or 'debunk' (the framing is quoted to refute it). A changed
-- verdict replaces the row; every decision is in audit_log. "Skip" stores nothing.
CREATE TABLE verdicts (
  post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
  framing_id INTEGER NOT NULL REFERENCES framings(id) ON DELETE CASCADE,
  term_id    INTEGER REFERENCES terms(id) ON DELETE SET NULL, -- the term the card showed
  verdict    TEXT NOT NULL CHECK (verdict IN ('correct', 'wrong_framing', 'debunk')),
  user_id    INTEGER NOT NULL,
  decided_at TEXT NOT NULL,
  PRIMARY KEY (post_id, framing_id)
);
-- Per-term precision (/framings <slug>) and per-framing verdict lists (/suggest).
CREATE INDEX verdicts_term ON verdicts(term_id, verdict);
CREATE INDEX verdicts_framing ON verdicts(framing_id, verdict);

-- The ONE place that says which matches a moderator rejected: everything that counts or
-- lists matches (digests, recurrence, trends, spikes, alerts, framing counts, propagation)
-- leaves these out, through counted_matches or trend_posts (kept by the triggers below).
CREATE VIEW rejected_matches AS
SELECT post_id, framing_id FROM verdicts WHERE verdict <> 'correct';

-- The matches that count: matches without a rejecting verdict (also for the browser view).
CREATE VIEW counted_matches AS
SELECT m.* FROM matches m WHERE NOT EXISTS (
  SELECT 1 FROM rejected_matches r WHERE r.post_id = m.post_id AND r.framing_id = m.framing_id
);

-- trend_posts (migration 0010) holds counted matches only, so trends, spikes and alerts
-- count by index alone: a match is added only if not rejected, and every verdict change
-- re-derives the row of its post and framing from counted_matches.
DROP TRIGGER trend_posts_add;
CREATE TRIGGER trend_posts_add AFTER INSERT ON matches
WHEN NOT EXISTS (SELECT 1 FROM rejected_matches r WHERE r.post_id = new.post_id AND r.framing_id = new.framing_id)
BEGIN
    INSERT OR IGNORE INTO trend_posts (framing_id, post_id, posted_at, chat_id)
    SELECT new.framing_id, new.post_id, p.posted_at, p.chat_id FROM posts p WHERE p.id = new.post_id;
END;
CREATE TRIGGER trend_posts_verdict_added AFTER INSERT ON verdicts BEGIN
    DELETE FROM trend_posts WHERE framing_id = new.framing_id AND post_id = new.post_id
    AND NOT EXISTS (SELECT 1 FROM counted_matches m WHERE m.post_id = new.post_id AND m.framing_id = new.framing_id);
END;
CREATE TRIGGER trend_posts_verdict_changed AFTER UPDATE OF verdict ON verdicts BEGIN
    DELETE FROM trend_posts WHERE framing_id = new.framing_id AND post_id = new.post_id;
    INSERT OR IGNORE INTO trend_posts (framing_id, post_id, posted_at, chat_id)
    SELECT m.framing_id, m.post_id, p.posted_at, p.chat_id FROM counted_matches m
    JOIN posts p ON p.id = m.post_id WHERE m.post_id = new.post_id AND m.framing_id = new.framing_id LIMIT 1;
END;
CREATE TRIGGER trend_posts_verdict_removed AFTER DELETE ON verdicts BEGIN
    INSERT OR IGNORE INTO trend_posts (framing_id, post_id, posted_at, chat_id)
    SELECT m.framing_id, m.post_id, p.posted_at, p.chat_id FROM counted_matches m
    JOIN posts p ON p.id = m.post_id WHERE m.post_id = old.post_id AND m.framing_id = old.framing_id LIMIT 1;
END;
