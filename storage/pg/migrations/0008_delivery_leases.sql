-- Twin of storage/migrations/0018_delivery_leases.sql: deliveries leased by processes.
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE deliveries ADD COLUMN claimed_until TEXT;
ALTER TABLE deliveries ADD COLUMN not_before TEXT;
ALTER TABLE deliveries ADD COLUMN sending BIGINT NOT NULL DEFAULT 0;

CREATE INDEX deliveries_claimable ON deliveries(not_before, chat_id) WHERE status = 'pending';
