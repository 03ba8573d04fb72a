/** Database upkeep that concerns many owners' tables at once. */
import type { Queryable } from "./sql.ts";

/** Fresh statistics for the tables a harvest fills (see `noteWrites` in harvest/process.ts). */
export async function analyzeHarvestTables(sql: Queryable): Promise<void> {
  await sql`ANALYZE harvest_object, package, package_extra, package_tag, package_group, resource`;
}

/** Fresh statistics for the catalog's datasets (`harvest_source_reindex`). */
export async function analyzePackages(sql: Queryable): Promise<void> {
  await sql`ANALYZE package`;
}

/** Fresh statistics for every table (`harvest_sources_reindex`). */
export async function analyzeAll(sql: Queryable): Promise<void> {
  await sql`ANALYZE`;
}
