-- Which transactions changed data that the API's cached answers read (issue 18): every table except
-- the few below notes the id of each transaction that changes rows in it, once per transaction, from
-- statement-level triggers. A cached answer then stays valid while no noted transaction committed
-- since the snapshot it was computed under (db/changes.ts), where before any commit in the whole
-- cluster ended it: a worker's heartbeat every 3 s, a token's last_access, autovacuum, another
-- database's writes.
--
-- Not watched, since no cached answer reads them or what they hold does not change any answer:
-- heartbeats (harvest_consumer; answers that show them are clock-bound and have an age limit),
-- the PostgreSQL queue's messages, scheduler locks, per-host slots, web sessions, login throttling,
-- the counters' own delta rows (always written by a statement on a watched table, and a fold changes
-- no sum), and this migration's two tables. api_token is watched except for its last_access column.
-- An UPDATE or DELETE that changes no row notes nothing (those triggers look at their transition
-- tables), so the scheduler's periodic sweeps that find nothing to do do not end cached answers; an
-- INSERT always notes, without capturing its rows (a harvest inserts hundreds of thousands of child
-- rows, and nothing periodic inserts into a watched table).
CREATE TABLE data_change (
  xid bigint PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX data_change_at_idx ON data_change (at);

-- The highest transaction id whose row was pruned: an answer computed under a snapshot whose oldest
-- running transaction is not above it can no longer be checked, and is computed again.
CREATE TABLE data_change_cutoff (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  xid bigint NOT NULL
);
INSERT INTO data_change_cutoff (xid) VALUES (0);

-- With the argument `old` the trigger declares the transition table `old_rows`, whose rows tell
-- whether the statement changed any; without it, the statement counts as a change.
CREATE FUNCTION data_change_note() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed boolean := true;
BEGIN
  IF TG_ARGV[0] = 'old' THEN
    changed := EXISTS (SELECT 1 FROM old_rows);
  END IF;
  IF changed THEN
    INSERT INTO data_change (xid) VALUES (pg_current_xact_id()::text::bigint) ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
  FOR t IN
    SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT IN (
      'data_change', 'data_change_cutoff', 'harvest_consumer', 'harvest_queue', 'harvest_lock',
      'harvest_host_slot', 'web_session', 'login_throttle', 'harvest_source_tally', 'harvest_job_tally',
      'catalog_tally', 'api_token')
  LOOP
    EXECUTE format('CREATE TRIGGER data_change_insert AFTER INSERT ON %I '
      'FOR EACH STATEMENT EXECUTE FUNCTION data_change_note()', t);
    EXECUTE format('CREATE TRIGGER data_change_update AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows '
      'FOR EACH STATEMENT EXECUTE FUNCTION data_change_note(''old'')', t);
    EXECUTE format('CREATE TRIGGER data_change_delete AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows '
      'FOR EACH STATEMENT EXECUTE FUNCTION data_change_note(''old'')', t);
    EXECUTE format('CREATE TRIGGER data_change_truncate AFTER TRUNCATE ON %I '
      'FOR EACH STATEMENT EXECUTE FUNCTION data_change_note()', t);
  END LOOP;
END $$;

-- A trigger with a column list cannot see transition tables: a revocation (or another change to a
-- token but its last_access) that changes no row still counts, which costs a recomputation at most.
CREATE TRIGGER data_change_insert AFTER INSERT ON api_token
  FOR EACH STATEMENT EXECUTE FUNCTION data_change_note();
CREATE TRIGGER data_change_update AFTER UPDATE OF id, user_id, name, token_hash, created, expires_at, revoked
  ON api_token FOR EACH STATEMENT EXECUTE FUNCTION data_change_note();
CREATE TRIGGER data_change_delete AFTER DELETE ON api_token REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION data_change_note('old');
CREATE TRIGGER data_change_truncate AFTER TRUNCATE ON api_token
  FOR EACH STATEMENT EXECUTE FUNCTION data_change_note();
