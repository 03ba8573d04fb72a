-- A counter of the catalog's datasets by owner, type, state and visibility, kept as datasets change,
-- so that `package_search` with no query or filter counts its matches from a few rows instead of
-- reading every dataset (issue 18: `rows=0` read all 200,000 rows, 106 ms). Signed deltas, one row
-- per group a statement moves, summed on read and folded there when many (catalog/tally.ts), as the
-- counters of migration 0013.
CREATE TABLE catalog_tally (
  owner_org text,
  type text NOT NULL,
  state text NOT NULL,
  private boolean NOT NULL,
  datasets bigint NOT NULL
);

CREATE FUNCTION catalog_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO catalog_tally SELECT owner_org, type, state, private, count(*) FROM new_rows GROUP BY 1, 2, 3, 4;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO catalog_tally SELECT owner_org, type, state, private, -count(*) FROM old_rows GROUP BY 1, 2, 3, 4;
  ELSE
    INSERT INTO catalog_tally
      SELECT o, t, s, p, sum(d) FROM (
        SELECT owner_org AS o, type AS t, state AS s, private AS p, -1 AS d FROM old_rows
        UNION ALL SELECT owner_org, type, state, private, 1 FROM new_rows) x
      GROUP BY 1, 2, 3, 4 HAVING sum(d) <> 0;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER catalog_tally_insert AFTER INSERT ON package
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog_tally();
CREATE TRIGGER catalog_tally_update AFTER UPDATE ON package
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog_tally();
CREATE TRIGGER catalog_tally_delete AFTER DELETE ON package
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog_tally();

INSERT INTO catalog_tally SELECT owner_org, type, state, private, count(*) FROM package GROUP BY 1, 2, 3, 4;
