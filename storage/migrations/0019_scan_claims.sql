-- Scans shared between processes on PostgreSQL (issue 12): a process claims a batch of
-- posts waiting for a scan, or the terms a rescan applies, by writing its name and the end
-- of its lease here (bot/work_scan.py). It stores its results only while the claim is still
-- its own; a killed process's claims lapse at claimed_until and another takes the work over.
-- Times are UTC ISO text like every other time here; NULL: nobody holds it.
ALTER TABLE post_scan ADD COLUMN claimed_by TEXT;
ALTER TABLE post_scan ADD COLUMN claimed_until TEXT;
ALTER TABLE terms ADD COLUMN claimed_by TEXT;
ALTER TABLE terms ADD COLUMN claimed_until TEXT;
