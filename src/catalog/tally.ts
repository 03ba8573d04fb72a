/**
 * The catalog's counter (migration 0017): datasets by owner, type, state and visibility, kept by
 * triggers as signed deltas. A search with no query, filter or box counts its matches here, from a few
 * rows, instead of reading every dataset.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Queryable } from "../db/mod.ts";

const log = getLogger(["harvest", "catalog"]);

/** Delta rows the counter may have before a read folds them. */
const FOLD_AFTER = 256;

/**
 * The datasets that match `where`, a condition on `p.owner_org`, `p.type`, `p.state` and `p.private`
 * only (the search's visibility, state and type conditions), with its parameters.
 */
export async function countCatalog(sql: Queryable, where: string, params: unknown[]): Promise<number> {
  const [row] = await sql.unsafe(
    `SELECT coalesce(sum(datasets), 0)::int AS n, (SELECT count(*) FROM catalog_tally)::int AS deltas
     FROM catalog_tally p WHERE ${where}`,
    params as never[],
  ) as unknown as { n: number; deltas: number }[];
  if (row!.deltas > FOLD_AFTER) {
    // An optimisation only: a fold that meets a concurrent one (a deadlock) is left for later.
    await sql`
      WITH gone AS (DELETE FROM catalog_tally RETURNING *)
      INSERT INTO catalog_tally SELECT owner_org, type, state, private, sum(datasets) FROM gone
      GROUP BY 1, 2, 3, 4 HAVING sum(datasets) <> 0`
      .catch((error) => log.debug("Folding the catalog counter failed: {error}", { error: String(error) }));
  }
  return row!.n;
}
