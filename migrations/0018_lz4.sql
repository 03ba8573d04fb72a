-- Stored record content, and the datasets' search vectors (read by every ranked search), are
-- compressed with lz4 where the server has it (PostgreSQL 14+ built with lz4, as Debian's is; the
-- embedded database keeps pglz): several times faster to compress and to read back. Values already
-- stored keep their compression until rewritten.
DO $$
BEGIN
  ALTER TABLE harvest_object ALTER COLUMN content SET COMPRESSION lz4;
  ALTER TABLE package ALTER COLUMN search_vector SET COMPRESSION lz4;
EXCEPTION WHEN OTHERS THEN
  NULL;
END $$;
