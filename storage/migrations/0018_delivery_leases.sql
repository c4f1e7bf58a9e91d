-- Digest fan-out shared between processes on PostgreSQL (issue 12): the leader plans each
-- period's deliveries (rows), then every process leases batches of them to send
-- (storage/subscribers.py DeliveryRepository.lease, bot/fanout.py).
-- claimed_by / claimed_until: who holds a row and until when; an expired lease (its process
-- killed) is taken over by another. not_before: when the row may be sent (set when planned;
-- moved on by a flood wait); NULL for rows the one-process delivery writes, never leased.
-- sending: 1 while message sent_count is on its way; a row taken over with 1 is counted as
-- sent rather than sent again (at most once, never twice: bot/fanout.py).
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE deliveries ADD COLUMN claimed_until TEXT;
ALTER TABLE deliveries ADD COLUMN not_before TEXT;
ALTER TABLE deliveries ADD COLUMN sending INTEGER NOT NULL DEFAULT 0;

-- The claimable rows: pending ones, by when they may go; finished rows (nearly all) stay out.
CREATE INDEX deliveries_claimable ON deliveries(not_before, chat_id) WHERE status = 'pending';
