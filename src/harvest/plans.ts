/**
 * The owner of `harvest_plan`: stored previews of a harvest (`harvester plan`), and what `apply`
 * marks on them.
 *
 * @module
 */
import type { Queryable } from "../db/mod.ts";

/** How many previews a source keeps; older ones are dropped when a new one is stored. */
export const PLANS_KEPT = 10;

export interface PlanRow {
  id: string;
  source_id: string;
  created: Date;
  creator_user_id: string | null;
  fingerprint: string;
  summary: Record<string, unknown>;
  items: unknown[];
  applied_job_id: string | null;
  applied: Date | null;
}

export async function insertPlan(
  sql: Queryable,
  plan: Omit<PlanRow, "created" | "applied_job_id" | "applied">,
): Promise<PlanRow> {
  const [row] = await sql<PlanRow[]>`
    INSERT INTO harvest_plan (id, source_id, creator_user_id, fingerprint, summary, items)
    VALUES (${plan.id}, ${plan.source_id}, ${plan.creator_user_id}, ${plan.fingerprint},
      ${sql.json(plan.summary as never)}, ${sql.json(plan.items as never)})
    RETURNING *`;
  await sql`
    DELETE FROM harvest_plan WHERE source_id = ${plan.source_id} AND id NOT IN (
      SELECT id FROM harvest_plan WHERE source_id = ${plan.source_id} ORDER BY created DESC LIMIT ${PLANS_KEPT})`;
  return row!;
}

export async function getPlan(sql: Queryable, id: string): Promise<PlanRow | undefined> {
  const [row] = await sql<PlanRow[]>`SELECT * FROM harvest_plan WHERE id = ${id}`;
  return row;
}

/** A source's previews, newest first, without their items. */
export async function plansOfSource(sql: Queryable, sourceId: string): Promise<Omit<PlanRow, "items">[]> {
  return await sql<Omit<PlanRow, "items">[]>`
    SELECT id, source_id, created, creator_user_id, fingerprint, summary, applied_job_id, applied
    FROM harvest_plan WHERE source_id = ${sourceId} ORDER BY created DESC`;
}

/** Marks a preview applied by a job; false when it already was (a second apply loses the race). */
export async function markApplied(sql: Queryable, id: string, jobId: string): Promise<boolean> {
  const rows = await sql`
    UPDATE harvest_plan SET applied_job_id = ${jobId}, applied = now() WHERE id = ${id} AND applied IS NULL`;
  return rows.count === 1;
}

/** A source's datasets as the preview sees them: the current object's guid, with the dataset's name and title. */
export async function currentDatasets(
  sql: Queryable,
  sourceId: string,
): Promise<{ guid: string; package_id: string; name: string; title: string }[]> {
  return await sql<{ guid: string; package_id: string; name: string; title: string }[]>`
    SELECT c.guid, c.package_id, p.name, p.title FROM harvest_object c JOIN package p ON p.id = c.package_id
    WHERE c.harvest_source_id = ${sourceId} AND c.current AND p.state = 'active'`;
}
