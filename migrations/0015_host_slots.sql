-- Requests in flight to each remote host, across every process of the deployment: a process takes
-- a free slot (0 .. ckan.harvest.http.per_host_concurrency - 1) for each request and frees it after.
-- A slot whose lease ran out (its process died) is free again; live holders renew theirs.
CREATE TABLE harvest_host_slot (
  host text NOT NULL,
  slot int NOT NULL,
  holder text NOT NULL,
  lease_until timestamptz NOT NULL,
  PRIMARY KEY (host, slot)
);
CREATE INDEX harvest_host_slot_holder_idx ON harvest_host_slot (holder);
