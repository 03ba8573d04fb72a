-- The mapping (harvester profile and its revision) an object was imported with, so a mapping
-- change can re-derive exactly the datasets made by an older one (`harvester reimport --stale-mapping`).
ALTER TABLE harvest_object ADD COLUMN mapping text;
