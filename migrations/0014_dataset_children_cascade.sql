-- A dataset's children (extras, tags, group memberships, resources) are written only together with
-- it, by one statement that joins every child to the dataset row it wrote (src/catalog/package.ts).
-- Their foreign keys to package were checked one lookup per child row: 19 % of a cold harvest's time
-- with one worker. A statement-level trigger keeps what ON DELETE CASCADE did.
ALTER TABLE package_extra DROP CONSTRAINT package_extra_package_id_fkey;
ALTER TABLE package_tag DROP CONSTRAINT package_tag_package_id_fkey;
ALTER TABLE package_group DROP CONSTRAINT package_group_package_id_fkey;
ALTER TABLE resource DROP CONSTRAINT resource_package_id_fkey;

CREATE FUNCTION package_children_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM package_extra WHERE package_id IN (SELECT id FROM gone);
  DELETE FROM package_tag WHERE package_id IN (SELECT id FROM gone);
  DELETE FROM package_group WHERE package_id IN (SELECT id FROM gone);
  DELETE FROM resource WHERE package_id IN (SELECT id FROM gone);
  RETURN NULL;
END $$;

CREATE TRIGGER package_children_delete AFTER DELETE ON package REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION package_children_delete();
