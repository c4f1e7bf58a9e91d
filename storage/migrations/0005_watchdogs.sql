-- Watchdog channels (fact-checkers such as Ukraine's Center for Countering Disinformation)
-- quote framings to debunk them. A moderator marks them (/watchdog); digests list their
-- matches apart instead of counting them as channels spreading the framing.
ALTER TABLE channels ADD COLUMN watchdog INTEGER NOT NULL DEFAULT 0;
