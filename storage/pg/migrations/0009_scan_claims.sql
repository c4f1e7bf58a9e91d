-- The twin of SQLite's 0019: who holds a scan batch (post_scan rows) or a rescan (terms)
-- and until when (bot/work_scan.py). Nullable, no default: added without a table rewrite.
ALTER TABLE post_scan ADD COLUMN claimed_by TEXT;
ALTER TABLE post_scan ADD COLUMN claimed_until TEXT;
ALTER TABLE terms ADD COLUMN claimed_by TEXT;
ALTER TABLE terms ADD COLUMN claimed_until TEXT;
