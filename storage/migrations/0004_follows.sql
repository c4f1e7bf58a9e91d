-- Public channels followed through their web preview (https://t.me/s/<username>).
-- chat_id is the channel's Bot API id when it was already known, or else a synthetic id
-- derived from the username (<= -2^53, outside the Bot API's 52-bit range; see
-- storage/follows.py), replaced by the real id once the bot learns it.
CREATE TABLE follows (
    username        TEXT PRIMARY KEY,           -- lowercase, without @
    chat_id         INTEGER NOT NULL REFERENCES channels(chat_id),
    followed_at     TEXT NOT NULL,              -- ISO 8601 UTC
    followed_by     INTEGER,                    -- Telegram user id; NULL from the command line
    state           TEXT NOT NULL DEFAULT 'ok'
                    CHECK (state IN ('ok', 'error', 'unavailable')),
    last_error      TEXT,                       -- why the last poll failed (NULL after a success)
    failures        INTEGER NOT NULL DEFAULT 0, -- consecutive failed polls: the backoff exponent
    last_poll_at    TEXT,
    last_ok_at      TEXT,
    next_poll_at    TEXT NOT NULL,              -- persisted so backoff survives a restart
    backfill_before INTEGER,                    -- older posts still to fetch: ?before=<this>
    backfill_left   INTEGER NOT NULL DEFAULT 0  -- how many more posts the backfill may fetch
);
CREATE INDEX follows_next_poll ON follows(next_poll_at);
CREATE INDEX channels_username ON channels(lower(username));
