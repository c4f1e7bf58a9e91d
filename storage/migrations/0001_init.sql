-- FrameWatch schema, version 1. Migrations are append-only: never edit a released file.

CREATE TABLE channels (
    chat_id     INTEGER PRIMARY KEY,          -- Bot API id (-100...)
    username    TEXT,                          -- without @, NULL for private channels
    title       TEXT NOT NULL DEFAULT '',
    is_member   INTEGER NOT NULL DEFAULT 1,    -- the bot is currently in the channel
    added_at    TEXT NOT NULL,                 -- ISO 8601 UTC
    updated_at  TEXT NOT NULL
);

CREATE TABLE posts (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL REFERENCES channels(chat_id),
    message_id  INTEGER NOT NULL,
    posted_at   INTEGER NOT NULL,              -- Unix seconds, UTC
    edited_at   INTEGER,                       -- Unix seconds of the latest edit
    text        TEXT NOT NULL DEFAULT '',      -- text or caption
    source      TEXT NOT NULL DEFAULT 'bot',   -- bot, forward, demo ...
    stored_at   TEXT NOT NULL,
    needs_scan  INTEGER NOT NULL DEFAULT 1,    -- 1 until matched against every current term
    UNIQUE (chat_id, message_id)
);
CREATE INDEX posts_needs_scan ON posts(needs_scan) WHERE needs_scan = 1;
CREATE INDEX posts_posted_at ON posts(posted_at);

-- Earlier texts of edited posts: one row per text that was replaced.
CREATE TABLE post_versions (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    text        TEXT NOT NULL,
    edited_at   INTEGER,                       -- edit time of this version (NULL: original)
    replaced_at TEXT NOT NULL
);
CREATE INDEX post_versions_post ON post_versions(post_id);

CREATE VIRTUAL TABLE posts_fts USING fts5(
    text, content='posts', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts(posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF text ON posts BEGIN
    INSERT INTO posts_fts(posts_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO posts_fts(rowid, text) VALUES (new.id, new.text);
END;

CREATE TABLE framings (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    created_by  INTEGER
);

CREATE TABLE terms (
    id          INTEGER PRIMARY KEY,
    framing_id  INTEGER NOT NULL REFERENCES framings(id) ON DELETE CASCADE,
    text        TEXT NOT NULL,
    key         TEXT NOT NULL,                 -- normalised form, to refuse duplicates
    backfilled  INTEGER NOT NULL DEFAULT 0,    -- 1 once applied to every post stored before it
    created_at  TEXT NOT NULL,
    created_by  INTEGER,
    UNIQUE (framing_id, key)
);

CREATE TABLE matches (
    post_id     INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    term_id     INTEGER NOT NULL REFERENCES terms(id) ON DELETE CASCADE,
    framing_id  INTEGER NOT NULL REFERENCES framings(id) ON DELETE CASCADE,
    start_pos   INTEGER NOT NULL,              -- character offsets in posts.text
    end_pos     INTEGER NOT NULL,
    matched_at  TEXT NOT NULL,
    PRIMARY KEY (post_id, term_id)             -- the first occurrence of a term in a post
);
CREATE INDEX matches_framing ON matches(framing_id);

CREATE TABLE subscribers (
    chat_id       INTEGER PRIMARY KEY,
    active        INTEGER NOT NULL DEFAULT 1,
    subscribed_at TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT ''     -- why it was deactivated, if it was
);

-- One row per subscriber and daily period: the rendered messages and how many were sent,
-- so a restart resumes where it stopped instead of sending twice.
CREATE TABLE deliveries (
    chat_id     INTEGER NOT NULL REFERENCES subscribers(chat_id) ON DELETE CASCADE,
    period      TEXT NOT NULL,                 -- local date of the scheduled digest, YYYY-MM-DD
    messages    TEXT NOT NULL,                 -- JSON list of HTML messages
    sent_count  INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (chat_id, period)
);

CREATE TABLE roles (
    user_id     INTEGER PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('moderator', 'analyst')),
    granted_by  INTEGER,
    granted_at  TEXT NOT NULL
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    user_id     INTEGER,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);

-- Durable intake: every raw update is saved here before it is acknowledged to Telegram.
CREATE TABLE inbox (
    update_id    INTEGER PRIMARY KEY,
    payload      TEXT NOT NULL,                -- the update as JSON
    received_at  TEXT NOT NULL,
    processed_at TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT
);
CREATE INDEX inbox_unprocessed ON inbox(update_id) WHERE processed_at IS NULL;
