-- Counters kept as objects and datasets change, so what the API shows per source and per job costs the
-- same however many datasets there are (issue 18): `status.total_datasets` and each job's stats and
-- progress were counted over harvest_object on every read.
--
-- Each counter is a set of signed deltas, summed on read: every statement that changes objects or
-- datasets adds at most one row per counter it moves, so concurrent workers never wait on one
-- counter row. Readers fold a counter's rows into one when they grow many (harvest/tallies.ts).

-- The public, active datasets whose current harvest object belongs to the source.
CREATE TABLE harvest_source_tally (
  source_id text NOT NULL,
  datasets bigint NOT NULL
);
CREATE INDEX harvest_source_tally_source_idx ON harvest_source_tally (source_id);

-- A job's objects by state and report status.
CREATE TABLE harvest_job_tally (
  job_id text NOT NULL,
  state text NOT NULL,
  report_status text,
  objects bigint NOT NULL
);
CREATE INDEX harvest_job_tally_job_idx ON harvest_job_tally (job_id);

-- What one statement on harvest_object moved: old rows count -1, new rows +1, netted per counter.
CREATE FUNCTION harvest_object_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO harvest_job_tally (job_id, state, report_status, objects)
      SELECT harvest_job_id, state, report_status, count(*) FROM new_rows GROUP BY 1, 2, 3;
    INSERT INTO harvest_source_tally (source_id, datasets)
      SELECT n.harvest_source_id, count(*) FROM new_rows n JOIN package p ON p.id = n.package_id
      WHERE n.current AND p.state = 'active' AND NOT p.private GROUP BY 1;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO harvest_job_tally (job_id, state, report_status, objects)
      SELECT harvest_job_id, state, report_status, -count(*) FROM old_rows GROUP BY 1, 2, 3;
    -- A dataset deleted with its objects (ON DELETE CASCADE) was subtracted by package_tally_delete.
    INSERT INTO harvest_source_tally (source_id, datasets)
      SELECT o.harvest_source_id, -count(*) FROM old_rows o JOIN package p ON p.id = o.package_id
      WHERE o.current AND p.state = 'active' AND NOT p.private GROUP BY 1;
  ELSE
    INSERT INTO harvest_job_tally (job_id, state, report_status, objects)
      SELECT job, st, rs, sum(d) FROM (
        SELECT harvest_job_id AS job, state AS st, report_status AS rs, -1 AS d FROM old_rows
        UNION ALL SELECT harvest_job_id, state, report_status, 1 FROM new_rows) x
      GROUP BY 1, 2, 3 HAVING sum(d) <> 0;
    INSERT INTO harvest_source_tally (source_id, datasets)
      SELECT src, sum(d) FROM (
        SELECT o.harvest_source_id AS src, -1 AS d FROM old_rows o JOIN package p ON p.id = o.package_id
        WHERE o.current AND p.state = 'active' AND NOT p.private
        UNION ALL SELECT n.harvest_source_id, 1 FROM new_rows n JOIN package p ON p.id = n.package_id
        WHERE n.current AND p.state = 'active' AND NOT p.private) x
      GROUP BY 1 HAVING sum(d) <> 0;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER harvest_object_tally_insert AFTER INSERT ON harvest_object
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION harvest_object_tally();
CREATE TRIGGER harvest_object_tally_update AFTER UPDATE ON harvest_object
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION harvest_object_tally();
CREATE TRIGGER harvest_object_tally_delete AFTER DELETE ON harvest_object
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION harvest_object_tally();

-- A dataset made public or private, deleted or restored moves the counter of each source holding it.
-- (A new dataset moves nothing: no object can name it before it exists, and objects are inserted
-- not current.)
CREATE FUNCTION package_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO harvest_source_tally (source_id, datasets)
    SELECT o.harvest_source_id,
      sum((n.state = 'active' AND NOT n.private)::int - (b.state = 'active' AND NOT b.private)::int)
    FROM old_rows b JOIN new_rows n ON n.id = b.id JOIN harvest_object o ON o.package_id = n.id AND o.current
    WHERE (b.state = 'active' AND NOT b.private) <> (n.state = 'active' AND NOT n.private)
    GROUP BY 1;
  RETURN NULL;
END $$;

CREATE TRIGGER package_tally_update AFTER UPDATE ON package
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION package_tally();

-- A purged dataset: subtracted while its objects still exist (they go with it, by cascade).
CREATE FUNCTION package_tally_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.state = 'active' AND NOT OLD.private THEN
    INSERT INTO harvest_source_tally (source_id, datasets)
      SELECT o.harvest_source_id, -count(*) FROM harvest_object o WHERE o.package_id = OLD.id AND o.current
      GROUP BY 1;
  END IF;
  RETURN OLD;
END $$;

CREATE TRIGGER package_tally_delete BEFORE DELETE ON package
  FOR EACH ROW EXECUTE FUNCTION package_tally_delete();

-- What is there already.
INSERT INTO harvest_job_tally (job_id, state, report_status, objects)
  SELECT harvest_job_id, state, report_status, count(*) FROM harvest_object GROUP BY 1, 2, 3;
INSERT INTO harvest_source_tally (source_id, datasets)
  SELECT o.harvest_source_id, count(*) FROM harvest_object o JOIN package p ON p.id = o.package_id
  WHERE o.current AND p.state = 'active' AND NOT p.private GROUP BY 1;
