-- Two of harvest_object's indexes hold only the rows their queries can ask for, so a harvest
-- maintains fewer index entries per object (issue 18):
-- * the lease holder's index holds leased objects only. Every query on it also asks for a lease
--   that has not ended (lease_until > now()); keyed on leased_by being set, it held every object ever
--   processed, and a finished object's row version was entered again;
-- * the dataset index holds linked objects only. Every query on it compares package_id with a value,
--   which a NULL never equals; objects are gathered unlinked, and each was entered under NULL.
DROP INDEX harvest_object_leased_by_idx;
CREATE INDEX harvest_object_leased_by_idx ON harvest_object (leased_by) WHERE lease_until IS NOT NULL;
DROP INDEX harvest_object_package_idx;
CREATE INDEX harvest_object_package_idx ON harvest_object (package_id) WHERE package_id IS NOT NULL;
