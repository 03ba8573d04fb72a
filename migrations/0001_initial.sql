-- Users, organizations and groups (CKAN keeps both in one table, told apart by is_organization).
CREATE TABLE "user" (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  email text,
  password_hash text,
  sysadmin boolean NOT NULL DEFAULT false,
  state text NOT NULL DEFAULT 'active',
  created timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_token (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
  name text NOT NULL,
  token_hash text NOT NULL UNIQUE,
  created timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  last_access timestamptz,
  revoked boolean NOT NULL DEFAULT false
);
CREATE INDEX api_token_user_idx ON api_token (user_id);

CREATE TABLE "group" (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  title text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  image_url text NOT NULL DEFAULT '',
  is_organization boolean NOT NULL DEFAULT false,
  state text NOT NULL DEFAULT 'active',
  created timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE membership (
  group_id text NOT NULL REFERENCES "group"(id) ON DELETE CASCADE,
  user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
  capacity text NOT NULL CHECK (capacity IN ('admin', 'editor', 'member')),
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX membership_user_idx ON membership (user_id);

-- The local catalog, in CKAN's package shape.
CREATE TABLE package (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  title text NOT NULL DEFAULT '',
  notes text,
  url text,
  version text,
  author text,
  author_email text,
  maintainer text,
  maintainer_email text,
  license_id text,
  owner_org text REFERENCES "group"(id) ON DELETE SET NULL,
  private boolean NOT NULL DEFAULT false,
  state text NOT NULL DEFAULT 'active',
  type text NOT NULL DEFAULT 'dataset',
  metadata_created timestamptz NOT NULL DEFAULT now(),
  metadata_modified timestamptz NOT NULL DEFAULT now(),
  search_vector tsvector
);
CREATE INDEX package_owner_org_idx ON package (owner_org);
-- Name generation looks for taken names by prefix (name LIKE 'x%'), which needs a pattern index.
CREATE INDEX package_name_pattern_idx ON package (name text_pattern_ops);
CREATE INDEX package_state_idx ON package (state, private);
CREATE INDEX package_modified_idx ON package (metadata_modified);
CREATE INDEX package_search_idx ON package USING gin (search_vector);

CREATE TABLE package_extra (
  package_id text NOT NULL REFERENCES package(id) ON DELETE CASCADE,
  key text NOT NULL,
  value text NOT NULL,
  PRIMARY KEY (package_id, key)
);

CREATE TABLE package_tag (
  package_id text NOT NULL REFERENCES package(id) ON DELETE CASCADE,
  name text NOT NULL,
  vocabulary_id text,
  PRIMARY KEY (package_id, name)
);
CREATE INDEX package_tag_name_idx ON package_tag (name);

CREATE TABLE package_group (
  package_id text NOT NULL REFERENCES package(id) ON DELETE CASCADE,
  group_id text NOT NULL REFERENCES "group"(id) ON DELETE CASCADE,
  PRIMARY KEY (package_id, group_id)
);
CREATE INDEX package_group_group_idx ON package_group (group_id);

CREATE TABLE resource (
  id text PRIMARY KEY,
  package_id text NOT NULL REFERENCES package(id) ON DELETE CASCADE,
  position integer NOT NULL,
  url text NOT NULL DEFAULT '',
  name text,
  description text,
  format text,
  mimetype text,
  size bigint,
  hash text,
  created timestamptz,
  last_modified timestamptz,
  extras jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX resource_package_idx ON resource (package_id, position);

-- Harvesting.
CREATE TABLE harvest_source (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  title text NOT NULL DEFAULT '',
  notes text NOT NULL DEFAULT '',
  url text NOT NULL,
  url_normalized text NOT NULL,
  type text NOT NULL,
  config text NOT NULL DEFAULT '',
  frequency text NOT NULL DEFAULT 'MANUAL'
    CHECK (frequency IN ('MANUAL', 'MONTHLY', 'WEEKLY', 'BIWEEKLY', 'DAILY', 'ALWAYS')),
  owner_org text REFERENCES "group"(id) ON DELETE SET NULL,
  private boolean NOT NULL DEFAULT false,
  state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'deleted')),
  creator_user_id text,
  created timestamptz NOT NULL DEFAULT now(),
  metadata_modified timestamptz NOT NULL DEFAULT now(),
  next_run timestamptz
);
CREATE INDEX harvest_source_url_idx ON harvest_source (url_normalized);
CREATE INDEX harvest_source_org_idx ON harvest_source (owner_org);
CREATE INDEX harvest_source_due_idx ON harvest_source (state, frequency, next_run);

CREATE TABLE harvest_job (
  id text PRIMARY KEY,
  source_id text NOT NULL REFERENCES harvest_source(id) ON DELETE CASCADE,
  status text NOT NULL DEFAULT 'New' CHECK (status IN ('New', 'Running', 'Finished', 'Aborted')),
  created timestamptz NOT NULL DEFAULT now(),
  gather_started timestamptz,
  gather_finished timestamptz,
  finished timestamptz,
  -- The source config the job ran with: an incremental harvest only builds on a job with the same.
  config_hash text,
  -- When the gather message was last published, and until when a gather consumer holds the job.
  queued_at timestamptz,
  gather_lease_until timestamptz
);
CREATE INDEX harvest_job_source_idx ON harvest_job (source_id, created DESC);
CREATE INDEX harvest_job_status_idx ON harvest_job (status);
-- At most one pending (New or Running) job per source, enforced by the database itself.
CREATE UNIQUE INDEX harvest_job_one_pending_idx ON harvest_job (source_id)
  WHERE status IN ('New', 'Running');

CREATE TABLE harvest_object (
  id text PRIMARY KEY,
  guid text NOT NULL DEFAULT '',
  current boolean NOT NULL DEFAULT false,
  gathered timestamptz NOT NULL DEFAULT now(),
  fetch_started timestamptz,
  fetch_finished timestamptz,
  import_started timestamptz,
  import_finished timestamptz,
  content text,
  content_hash text,
  state text NOT NULL DEFAULT 'WAITING'
    CHECK (state IN ('WAITING', 'FETCH', 'IMPORT', 'COMPLETE', 'ERROR')),
  metadata_modified_date timestamptz,
  retry_times integer NOT NULL DEFAULT 0,
  -- When the object was last put on the fetch queue, and until when a consumer holds it.
  queued_at timestamptz NOT NULL DEFAULT now(),
  lease_until timestamptz,
  harvest_job_id text NOT NULL REFERENCES harvest_job(id) ON DELETE CASCADE,
  harvest_source_id text NOT NULL REFERENCES harvest_source(id) ON DELETE CASCADE,
  package_id text REFERENCES package(id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  report_status text
    CHECK (report_status IN ('added', 'updated', 'not modified', 'deleted', 'errored'))
);
CREATE INDEX harvest_object_job_state_idx ON harvest_object (harvest_job_id, state);
CREATE INDEX harvest_object_package_idx ON harvest_object (package_id);
CREATE INDEX harvest_object_guid_idx ON harvest_object (guid);
-- One object per record per job: a gather delivered twice does not duplicate work.
CREATE UNIQUE INDEX harvest_object_job_guid_idx ON harvest_object (harvest_job_id, guid);
-- The identity of a harvested dataset: (source, guid) through the current object.
CREATE UNIQUE INDEX harvest_object_current_idx ON harvest_object (harvest_source_id, guid)
  WHERE current;
CREATE INDEX harvest_object_inflight_idx ON harvest_object (state, gathered)
  WHERE state IN ('WAITING', 'FETCH', 'IMPORT');

CREATE TABLE harvest_object_extra (
  id text PRIMARY KEY,
  harvest_object_id text NOT NULL REFERENCES harvest_object(id) ON DELETE CASCADE,
  key text NOT NULL,
  value text NOT NULL DEFAULT ''
);
CREATE INDEX harvest_object_extra_object_idx ON harvest_object_extra (harvest_object_id);

CREATE TABLE harvest_gather_error (
  id text PRIMARY KEY,
  harvest_job_id text NOT NULL REFERENCES harvest_job(id) ON DELETE CASCADE,
  message text NOT NULL,
  created timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX harvest_gather_error_job_idx ON harvest_gather_error (harvest_job_id);

CREATE TABLE harvest_object_error (
  id text PRIMARY KEY,
  harvest_object_id text NOT NULL REFERENCES harvest_object(id) ON DELETE CASCADE,
  message text NOT NULL,
  stage text NOT NULL DEFAULT 'Fetch',
  line integer,
  created timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX harvest_object_error_object_idx ON harvest_object_error (harvest_object_id);

CREATE TABLE harvest_log (
  id bigserial PRIMARY KEY,
  content text NOT NULL,
  level text NOT NULL CHECK (level IN ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')),
  created timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX harvest_log_created_idx ON harvest_log (created);

-- The default queue backend: a table read with FOR UPDATE SKIP LOCKED.
CREATE TABLE harvest_queue (
  id bigserial PRIMARY KEY,
  queue text NOT NULL,
  body text NOT NULL,
  enqueued timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  deliveries integer NOT NULL DEFAULT 0
);
CREATE INDEX harvest_queue_ready_idx ON harvest_queue (queue, locked_until, id);

-- Cluster-wide locks (the scheduler's tick): a row per lock with an expiry, so it works on
-- embedded PGlite too, where every client shares one session and advisory locks exclude nobody.
CREATE TABLE harvest_lock (
  name text PRIMARY KEY,
  holder text NOT NULL,
  expires_at timestamptz NOT NULL
);

-- Deletions a job wanted to make but that wait for an operator (too many, or the listing was empty or
-- truncated). One pending row per source and record.
CREATE TABLE harvest_pending_deletion (
  id text PRIMARY KEY,
  source_id text NOT NULL REFERENCES harvest_source(id) ON DELETE CASCADE,
  job_id text REFERENCES harvest_job(id) ON DELETE SET NULL,
  guid text NOT NULL,
  package_id text NOT NULL REFERENCES package(id) ON DELETE CASCADE,
  reason text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  created timestamptz NOT NULL DEFAULT now(),
  decided timestamptz,
  decided_by text
);
CREATE UNIQUE INDEX harvest_pending_deletion_one_idx ON harvest_pending_deletion (source_id, guid)
  WHERE status = 'pending';
CREATE INDEX harvest_pending_deletion_source_idx ON harvest_pending_deletion (source_id, status);
