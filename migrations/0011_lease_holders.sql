-- Who holds each lease: the process (`harvest_consumer.id`) that claimed an object or a job's gather.
-- When that process stops reporting alive, its leases are released at once instead of when they
-- expire (the visibility timeout), so a dead worker's work moves on within seconds.
ALTER TABLE harvest_object ADD COLUMN leased_by text;
ALTER TABLE harvest_job ADD COLUMN gather_leased_by text;
CREATE INDEX harvest_object_leased_by_idx ON harvest_object (leased_by) WHERE leased_by IS NOT NULL;
