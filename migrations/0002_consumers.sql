-- Liveness of long-running processes (workers, consumers, schedulers): each refreshes its row.
CREATE TABLE harvest_consumer (
  id text PRIMARY KEY,
  kind text NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  started timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now()
);
-- Objects imported lately, for the datasets-per-second figure of /metrics.
CREATE INDEX harvest_object_import_finished_idx ON harvest_object (import_finished)
  WHERE import_finished IS NOT NULL;
