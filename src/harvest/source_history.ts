/**
 * Clearing a source: its whole history (and the datasets it harvested), or only its finished history
 * with every dataset's link to its remote record kept. Core operations the actions call, made of
 * the table owners' verbs in one transaction.
 *
 * @module
 */
import type { Queryable } from "../db/mod.ts";
import { ValidationError } from "../errors/mod.ts";
import type { Services } from "../services_type.ts";
import { purgePackages } from "../catalog/mod.ts";
import { deleteFinishedJobs, deleteSourceJobs, freezeStats, hasRunningJob } from "./jobs.ts";
import { deleteClearedObjects, packagesOnlyOf } from "./objects.ts";
import { dropSourceDeletions } from "./deletions.ts";

export async function refuseWhileRunning(sql: Queryable, sourceId: string, what: string): Promise<void> {
  if (await hasRunningJob(sql, sourceId)) {
    throw ValidationError.of("id", `The source has a running job; stop it (harvest_job_abort) before ${what}`);
  }
}

/**
 * Deletes a source's jobs, objects and errors, and purges the datasets only it harvested (never
 * those another source keeps current). Answers how many datasets went.
 */
export async function clearSource(services: Services, sourceId: string): Promise<number> {
  const { sql, target } = services;
  return await sql.begin(async (tx) => {
    const ids = await packagesOnlyOf(tx, sourceId);
    await dropSourceDeletions(tx, sourceId);
    await deleteSourceJobs(tx, sourceId);
    await purgePackages(tx, ids);
    for (const id of ids) await target?.remove(id);
    return ids.length;
  });
}

/**
 * Deletes the finished history of a source and keeps every dataset's link to its remote record: the
 * current objects (and the jobs holding them) and running jobs stay.
 */
export async function clearSourceHistory(sql: Queryable, sourceId: string): Promise<number> {
  const deleted = await deleteFinishedJobs(sql, sourceId);
  // The jobs kept (they hold current objects) lose their other objects: freeze their reports first,
  // so "7 added, 2 errored" stays what it was. Objects with errors stay, for the report's error list.
  await freezeStats(sql, sourceId);
  await deleteClearedObjects(sql, sourceId);
  return deleted;
}
