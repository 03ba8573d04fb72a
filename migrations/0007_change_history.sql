-- The field-level changes an update made to its dataset ([{field, before, after}]), kept on the
-- object that made them, so a dataset's history and a job's report can say what changed.
ALTER TABLE harvest_object ADD COLUMN changes jsonb;
