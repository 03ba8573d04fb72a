/**
 * Clearing a source: its whole history (and the datasets it harvested), or only its finished history
 * with every dataset's link to its remote record kept. Core operations the actions call.
 *
 * @module
 */
import type { Queryable } from "../db/mod.ts";
import { ValidationError } from "../errors/mod.ts";
import type { Services } from "../services_type.ts";
import { jobStats } from "./jobs.ts";

export async function refuseWhileRunning(sql: Queryable, sourceId: string, what: string): Promise<void> {
  const [running] = await sql`SELECT 1 FROM harvest_job WHERE source_id = ${sourceId} AND status = 'Running'`;
  if (running) {
    throw ValidationError.of("id", `The source has a running job; stop it (harvest_job_abort) before ${what}`);
  }
}

/**
 * Deletes a source's jobs, objects and errors; its datasets are purged too unless `keepDatasets`.
 * Only datasets this source harvested are touched, never those of other sources.
 */
export async function clearSource(services: Services, sourceId: string): Promise<number> {
  const { sql, target } = services;
  return await sql.begin(async (tx) => {
    const packages = await tx<{ id: string }[]>`
      SELECT DISTINCT o.package_id AS id FROM harvest_object o WHERE o.harvest_source_id = ${sourceId}
        AND o.package_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM harvest_object x WHERE x.package_id = o.package_id
          AND x.harvest_source_id <> ${sourceId} AND x.current)`;
    const ids = packages.map((p) => p.id);
    await tx`DELETE FROM harvest_pending_deletion WHERE source_id = ${sourceId}`;
    await tx`DELETE FROM harvest_job WHERE source_id = ${sourceId}`;
    await tx`DELETE FROM package WHERE id = ANY(${ids})`;
    for (const id of ids) await target?.remove(id);
    return ids.length;
  });
}

/**
 * Deletes the finished history of a source and keeps every dataset's link to its remote record: the
 * current objects (and the jobs holding them) and running jobs stay.
 */
export async function clearSourceHistory(sql: Queryable, sourceId: string): Promise<number> {
  const deleted = await sql`
    DELETE FROM harvest_job j WHERE j.source_id = ${sourceId} AND j.status <> 'Running'
      AND NOT EXISTS (SELECT 1 FROM harvest_object o WHERE o.harvest_job_id = j.id AND o.current)
    RETURNING j.id`;
  // The jobs kept (they hold current objects) lose their other objects: freeze their reports first,
  // so "7 added, 2 errored" stays what it was. Objects with errors stay, for the report's error list.
  const kept = await sql<{ id: string }[]>`
    SELECT id FROM harvest_job WHERE source_id = ${sourceId} AND status <> 'Running' AND stats IS NULL`;
  const stats = await jobStats(sql, kept.map((k) => k.id));
  for (const [id, s] of stats) await sql`UPDATE harvest_job SET stats = ${sql.json(s as never)} WHERE id = ${id}`;
  await sql`
    DELETE FROM harvest_object o USING harvest_job j WHERE j.id = o.harvest_job_id AND j.source_id = ${sourceId}
      AND j.status <> 'Running' AND NOT o.current
      AND NOT EXISTS (SELECT 1 FROM harvest_object_error e WHERE e.harvest_object_id = o.id)`;
  return deleted.length;
}
