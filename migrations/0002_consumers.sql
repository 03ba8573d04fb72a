-- Liveness of long-running processes (workers, consumers, schedulers): each refreshes its row.
CREATE TABLE harvest_consumer (
  id text PRIMARY KEY,
  kind text NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  started timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now()
);
