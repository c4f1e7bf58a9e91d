-- Trends, spike alerts and digest charts.
--
-- Daily totals (the share's denominator) group posts by date and channel: an index on both
-- lets that query read the index alone.
CREATE INDEX IF NOT EXISTS posts_posted_chat ON posts(posted_at, chat_id);

-- One row per matched post and framing, with the post's date and channel: trends count
-- these (a post matching several terms of a framing counts once) by seeking a covering
-- index per framing and day instead of joining a million matches to their posts. Kept by
-- triggers, so every path that writes matches or posts keeps it right.
CREATE TABLE trend_posts (
    framing_id  INTEGER NOT NULL,
    post_id     INTEGER NOT NULL,
    posted_at   INTEGER NOT NULL,
    chat_id     INTEGER NOT NULL,
    PRIMARY KEY (framing_id, post_id)
) WITHOUT ROWID;
CREATE INDEX trend_posts_framing ON trend_posts(framing_id, posted_at, chat_id);
CREATE INDEX trend_posts_post ON trend_posts(post_id);
INSERT OR IGNORE INTO trend_posts (framing_id, post_id, posted_at, chat_id)
SELECT m.framing_id, m.post_id, p.posted_at, p.chat_id FROM matches m JOIN posts p ON p.id = m.post_id;

CREATE TRIGGER trend_posts_add AFTER INSERT ON matches BEGIN
    INSERT OR IGNORE INTO trend_posts (framing_id, post_id, posted_at, chat_id)
    SELECT new.framing_id, new.post_id, p.posted_at, p.chat_id FROM posts p WHERE p.id = new.post_id;
END;
-- Deleting matches (an edit, a removed term or framing, a deleted post: cascades fire
-- triggers too) removes the row once the post has no match of the framing left.
CREATE TRIGGER trend_posts_remove AFTER DELETE ON matches
WHEN NOT EXISTS (SELECT 1 FROM matches WHERE post_id = old.post_id AND framing_id = old.framing_id)
BEGIN
    DELETE FROM trend_posts WHERE framing_id = old.framing_id AND post_id = old.post_id;
END;
CREATE TRIGGER trend_posts_moved AFTER UPDATE OF posted_at, chat_id ON posts
WHEN new.posted_at IS NOT old.posted_at OR new.chat_id IS NOT old.chat_id
BEGIN
    UPDATE trend_posts SET posted_at = new.posted_at, chat_id = new.chat_id WHERE post_id = new.id;
END;

-- Spike alerts are opt-in per subscriber (/alerts on).
ALTER TABLE subscribers ADD COLUMN alerts INTEGER NOT NULL DEFAULT 0;

-- One row per framing, local day and subscriber, written BEFORE the alert is sent, so a
-- crash or restart never sends it twice. 'postponed': Telegram surely did not take it
-- (flood wait, network down before sending): the next scan tries again.
CREATE TABLE alerts_sent (
    framing_slug TEXT NOT NULL,
    day          TEXT NOT NULL,                -- local date, YYYY-MM-DD
    chat_id      INTEGER NOT NULL REFERENCES subscribers(chat_id) ON DELETE CASCADE,
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'sent', 'postponed', 'failed')),
    text         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (framing_slug, day, chat_id)
);

-- The chart of surging framings attached to a daily digest: recorded before it is sent,
-- once per subscriber and period, like the digest's messages.
CREATE TABLE delivery_charts (
    chat_id     INTEGER NOT NULL REFERENCES subscribers(chat_id) ON DELETE CASCADE,
    period      TEXT NOT NULL,
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (chat_id, period)
);
