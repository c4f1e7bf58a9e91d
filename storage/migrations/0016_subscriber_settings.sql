-- Each chat's own digest settings (/settings). A chat without a row, or a NULL column,
-- follows the bot's defaults (FRAMEWATCH_DIGEST_TIME, FRAMEWATCH_TIMEZONE, all framings,
-- the full form), so changing a default still reaches everyone who never chose.
-- Not tied to subscribers: /digest follows the settings of a chat that is not subscribed.
CREATE TABLE subscriber_settings (
    chat_id       INTEGER PRIMARY KEY,
    digest_time   TEXT CHECK (digest_time IS NULL OR digest_time GLOB '[0-2][0-9]:[0-5][0-9]'),
    timezone      TEXT,                          -- IANA name, validated before it is written
    compact       INTEGER NOT NULL DEFAULT 0 CHECK (compact IN (0, 1)),
    all_framings  INTEGER NOT NULL DEFAULT 1 CHECK (all_framings IN (0, 1)),
    updated_at    TEXT NOT NULL
);

-- The chosen framings when all_framings = 0. A framing removed by /unwatch leaves the
-- selections with it; framings added later are not chosen (all_framings = 1 takes them).
CREATE TABLE subscriber_framings (
    chat_id     INTEGER NOT NULL REFERENCES subscriber_settings(chat_id) ON DELETE CASCADE,
    framing_id  INTEGER NOT NULL REFERENCES framings(id) ON DELETE CASCADE,
    PRIMARY KEY (chat_id, framing_id)
);

-- The delivery job asks, every minute, which schedules (time, zone) have subscribers.
CREATE INDEX subscriber_settings_schedule ON subscriber_settings(digest_time, timezone);
