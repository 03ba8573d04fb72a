-- Who holds each delivered message of the Postgres queue, so the messages of a process that stopped
-- reporting alive are delivered again at once, as its leases are released (harvest/recovery.ts).
ALTER TABLE harvest_queue ADD COLUMN locked_by text;
CREATE INDEX harvest_queue_locked_by_idx ON harvest_queue (locked_by) WHERE locked_by IS NOT NULL;
