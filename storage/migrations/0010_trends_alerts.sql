-- Trends, spike alerts and digest charts.
--
-- Daily totals (the share's denominator) group posts by date and channel: an index on both
-- lets that query read the index alone.
CREATE INDEX posts_posted_chat ON posts(posted_at, chat_id);

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
