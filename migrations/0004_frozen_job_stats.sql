-- A finished job's report, frozen when clearing the history deletes objects it counted, so the
-- report of a job that is kept never changes.
ALTER TABLE harvest_job ADD COLUMN stats jsonb;
