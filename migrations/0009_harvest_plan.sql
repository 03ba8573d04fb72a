-- Previews of a harvest (`harvester plan`): what a run would add, update, leave and withdraw, with
-- each update's field-level diff, and a fingerprint that `harvester apply` compares with a fresh
-- dry run before it writes anything. A source keeps its last few previews.
CREATE TABLE harvest_plan (
  id text PRIMARY KEY,
  source_id text NOT NULL REFERENCES harvest_source(id) ON DELETE CASCADE,
  created timestamptz NOT NULL DEFAULT now(),
  creator_user_id text,
  fingerprint text NOT NULL,
  summary jsonb NOT NULL,
  items jsonb NOT NULL,
  applied_job_id text REFERENCES harvest_job(id) ON DELETE SET NULL,
  applied timestamptz
);
CREATE INDEX harvest_plan_source_idx ON harvest_plan (source_id, created DESC);
