-- The bounding box of a dataset's `spatial` extra (GeoJSON), for `package_search`'s `ext_bbox`:
-- a built-in box type with a GiST index, so it works on the embedded database as on PostgreSQL,
-- without PostGIS. Datasets written before this migration get theirs when next written.
ALTER TABLE package ADD COLUMN extent box;
CREATE INDEX package_extent_idx ON package USING gist (extent);
