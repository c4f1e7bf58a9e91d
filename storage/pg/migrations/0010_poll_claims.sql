-- The twin of SQLite's 0020: who polls a followed channel now, and until when.
ALTER TABLE follows ADD COLUMN claimed_by TEXT;
ALTER TABLE follows ADD COLUMN claimed_until TEXT;
