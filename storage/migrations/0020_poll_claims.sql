-- Web-preview polls shared between processes on PostgreSQL (issue 12): a process claims the
-- follows whose poll is due (bot/work_polls.py), so no channel is polled by two at once; a
-- killed process's claims lapse at claimed_until. NULL: nobody holds it.
ALTER TABLE follows ADD COLUMN claimed_by TEXT;
ALTER TABLE follows ADD COLUMN claimed_until TEXT;
