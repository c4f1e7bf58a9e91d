-- Channel approval. Anyone can add the bot to a channel of their own; its posts must not
-- reach every subscriber's digest until a moderator says so. A channel is 'approved'
-- (watched), 'pending' (added by someone who is not a moderator: posts stored, not
-- counted) or 'rejected' (a moderator made the bot leave: posts stored, not counted).
-- Channels already known stay watched: the default is 'approved', which is also what
-- forwards by moderators, /follow and `framewatch import` create.
ALTER TABLE channels ADD COLUMN approval TEXT NOT NULL DEFAULT 'approved'
    CHECK (approval IN ('approved', 'pending', 'rejected'));
ALTER TABLE channels ADD COLUMN added_by INTEGER;     -- Telegram user who added the bot
ALTER TABLE channels ADD COLUMN decided_by INTEGER;   -- moderator who approved or rejected
ALTER TABLE channels ADD COLUMN decided_at TEXT;      -- ISO 8601 UTC

-- The ONE place that says which channels count: everything that counts posts or matches
-- (digests, recurrence, later alerts and trends) joins this view, never `channels`.
CREATE VIEW watched_channels AS SELECT * FROM channels WHERE approval = 'approved';
