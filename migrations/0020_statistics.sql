-- Columns no query filters, joins or sorts on keep no planner statistics: ANALYZE (run by a harvest
-- as its tables grow, and by autovacuum) then skips sampling and sorting their long values. The
-- record content alone was a third of ANALYZE harvest_object at 20,000 objects.
ALTER TABLE harvest_object ALTER COLUMN content SET STATISTICS 0;
ALTER TABLE harvest_object ALTER COLUMN changes SET STATISTICS 0;
ALTER TABLE package ALTER COLUMN notes SET STATISTICS 0;
ALTER TABLE resource ALTER COLUMN description SET STATISTICS 0;
ALTER TABLE resource ALTER COLUMN extras SET STATISTICS 0;
