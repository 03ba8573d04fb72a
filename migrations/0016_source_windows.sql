-- Fairness (issue 19): a source with a concurrency cap (its config's `concurrency`, else
-- ckan.harvest.source_concurrency) has at most that many objects queued or in work at once, across
-- every worker. Its other new objects are parked: WAITING without `queued_at`, in the database, not
-- on the queue; the window queues them as earlier ones finish.
ALTER TABLE harvest_object ALTER COLUMN queued_at DROP NOT NULL;
-- Holds only parked objects: a harvest without a cap adds nothing to it.
CREATE INDEX harvest_object_parked_idx ON harvest_object (harvest_job_id, gathered)
  WHERE queued_at IS NULL AND state = 'WAITING';

-- One row per running job of a capped source: its cap and how many of its objects are queued or in
-- work. Every change locks the row, so two workers finishing at once never queue one object too many.
CREATE TABLE harvest_job_window (
  job_id text PRIMARY KEY REFERENCES harvest_job(id) ON DELETE CASCADE,
  cap int NOT NULL CHECK (cap > 0),
  in_flight int NOT NULL DEFAULT 0,
  -- When the window last moved: one that stood still for a minute is counted again by the tick.
  moved timestamptz NOT NULL DEFAULT now()
);

-- The next messages of a lane, in order: consumers claim the lowest ids not locked. The old index
-- led with locked_until, so every claim sorted the whole lane (quadratic in a 100,000-object job).
CREATE INDEX harvest_queue_next_idx ON harvest_queue (queue, id);
DROP INDEX harvest_queue_ready_idx;
