-- Digest fan-out to many subscribers: the delivery claims one period's rows in one read.
-- Without this index that read scans every delivery of every past period.
CREATE INDEX deliveries_period ON deliveries(period);
